#include "p2p/pread_disk_io.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/aux_/vector.hpp>
#include <libtorrent/disk_buffer_holder.hpp>
#include <libtorrent/error_code.hpp>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/hasher.hpp>
#include <libtorrent/peer_request.hpp>
#include <libtorrent/storage_defs.hpp>
#include <libtorrent/torrent_flags.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/unit/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

constexpr int block = lt::default_block_size;

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  return s;
}

std::string file_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Descriptors this process has open.
int open_descriptors() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// One torrent of `sizes` files (under "t/" when more than one) in a fresh directory, on a
// pread disk I/O of its own. Each call runs the job and returns what its handler was given.
struct disk_fixture {
  rookery::test::temp_dir scratch{"disk-io"};
  std::string save_path = scratch.path.string();
  boost::asio::io_context io;
  lt::settings_pack settings;
  lt::counters counters;
  lt::file_storage files;
  lt::aux::vector<lt::download_priority_t, lt::file_index_t> priorities;
  std::string content;
  std::unique_ptr<lt::disk_interface> disk;
  lt::storage_holder storage;  // released before the disk I/O it belongs to

  explicit disk_fixture(std::vector<std::int64_t> sizes, int piece_length = 2 * block,
                        int file_pool_size = 40) {
    files.set_piece_length(piece_length);
    for (std::size_t i = 0; i < sizes.size(); ++i)
      files.add_file(sizes.size() == 1 ? "blob" : "t/f" + std::to_string(i), sizes[i]);
    files.set_num_pieces(static_cast<int>((files.total_size() + piece_length - 1) / piece_length));
    content = pattern(static_cast<std::size_t>(files.total_size()));
    settings.set_int(lt::settings_pack::file_pool_size, file_pool_size);
    disk = rookery::p2p::pread_disk_io(io, settings, counters);
    storage = disk->new_torrent(
        lt::storage_params(files, nullptr, save_path, lt::storage_mode_sparse, priorities, {}),
        nullptr);
  }

  fs::path file(int i) const { return scratch.path / files.file_path(lt::file_index_t(i)); }

  // Runs the handlers the last job posted.
  void run() {
    io.restart();
    io.poll();
  }

  // Writes `bytes` at the piece's `start`.
  lt::storage_error write_bytes(int piece, int start, const std::string& bytes) {
    std::optional<lt::storage_error> out;
    const lt::peer_request r{lt::piece_index_t(piece), start, static_cast<int>(bytes.size())};
    disk->async_write(storage, r, bytes.data(), nullptr,
                      [&](const lt::storage_error& e) { out = e; });
    run();
    REQUIRE(out);
    return *out;
  }

  // Writes the content's bytes there.
  lt::storage_error write(int piece, int start, int length) {
    const auto at = static_cast<std::size_t>(piece) * files.piece_length() + start;
    return write_bytes(piece, start, content.substr(at, static_cast<std::size_t>(length)));
  }

  void write_all() {
    for (int p = 0; p < files.num_pieces(); ++p)
      for (int start = 0; start < files.piece_size(lt::piece_index_t(p)); start += block) {
        const int length = std::min(block, files.piece_size(lt::piece_index_t(p)) - start);
        REQUIRE_FALSE(write(p, start, length));
      }
  }

  std::pair<std::string, lt::storage_error> read(int piece, int start, int length) {
    std::optional<std::pair<std::string, lt::storage_error>> out;
    disk->async_read(storage, lt::peer_request{lt::piece_index_t(piece), start, length},
                     [&](lt::disk_buffer_holder b, const lt::storage_error& e) {
                       out.emplace(e ? std::string() : std::string(b.data(), length), e);
                     });
    run();
    REQUIRE(out);
    return *out;
  }

  std::pair<lt::sha1_hash, lt::storage_error> hash(int piece) {
    std::optional<std::pair<lt::sha1_hash, lt::storage_error>> out;
    disk->async_hash(storage, lt::piece_index_t(piece), {}, lt::disk_interface::v1_hash,
                     [&](lt::piece_index_t, const lt::sha1_hash& h, const lt::storage_error& e) {
                       out.emplace(h, e);
                     });
    run();
    REQUIRE(out);
    return *out;
  }

  lt::sha1_hash expected_hash(int piece) const {
    const auto at = static_cast<std::size_t>(piece) * files.piece_length();
    return lt::hasher(content.data() + at, files.piece_size(lt::piece_index_t(piece))).final();
  }

  std::pair<lt::status_t, lt::storage_error> check(const lt::add_torrent_params* resume) {
    std::optional<std::pair<lt::status_t, lt::storage_error>> out;
    disk->async_check_files(storage, resume, {},
                            [&](lt::status_t s, const lt::storage_error& e) { out.emplace(s, e); });
    run();
    REQUIRE(out);
    return *out;
  }

  std::tuple<lt::status_t, std::string, lt::storage_error> move(const fs::path& to,
                                                                lt::move_flags_t flags) {
    std::optional<std::tuple<lt::status_t, std::string, lt::storage_error>> out;
    disk->async_move_storage(storage, to.string(), flags,
                             [&](lt::status_t s, const std::string& p, const lt::storage_error& e) {
                               out.emplace(s, p, e);
                             });
    run();
    REQUIRE(out);
    return *out;
  }

  void release() {
    bool done = false;
    disk->async_release_files(storage, [&] { done = true; });
    run();
    REQUIRE(done);
  }
};

bool has(lt::status_t status, lt::status_t flag) {
  return (static_cast<int>(status) & static_cast<int>(flag)) != 0;
}

}  // namespace

TEST_CASE("pread_disk_io: blocks written across two files are in them and hash as their pieces",
          "[p2p][disk_io]") {
  // 20,000 + 30,001 bytes in 32 KiB pieces: the first piece's second block spans both files.
  disk_fixture f({20000, 30001});
  f.write_all();
  // Written means in the file (the proxy's store takes the file once libtorrent verifies).
  CHECK(file_text(f.file(0)) == f.content.substr(0, 20000));
  CHECK(file_text(f.file(1)) == f.content.substr(20000));
  for (int p = 0; p < f.files.num_pieces(); ++p) {
    const auto [h, e] = f.hash(p);
    CHECK_FALSE(e);
    CHECK(h == f.expected_hash(p));
  }
  const auto [bytes, e] = f.read(0, block, block);
  CHECK_FALSE(e);
  CHECK(bytes == f.content.substr(block, block));
}

TEST_CASE("pread_disk_io: a file is opened once for all its blocks and closed on release",
          "[p2p][disk_io]") {
  disk_fixture f({256 * 1024});
  const int before = open_descriptors();
  f.write_all();
  CHECK(open_descriptors() == before + 1);
  for (int p = 0; p < f.files.num_pieces(); ++p) CHECK(f.hash(p).first == f.expected_hash(p));
  CHECK(f.read(3, block, block).first == f.content.substr(7 * block, block));
  CHECK(open_descriptors() == before + 1);
  f.release();
  CHECK(open_descriptors() == before);
  // Released files open again on the next block.
  CHECK(f.read(0, 0, block).first == f.content.substr(0, block));
}

TEST_CASE("pread_disk_io: no more files are open than file_pool_size", "[p2p][disk_io]") {
  disk_fixture f({40000, 40000, 40000}, 2 * block, 2);
  const int before = open_descriptors();
  f.write_all();
  CHECK(open_descriptors() == before + 2);
  for (int p = 0; p < f.files.num_pieces(); ++p) CHECK(f.hash(p).first == f.expected_hash(p));
  CHECK(open_descriptors() == before + 2);
  for (int i = 0; i < 3; ++i)
    CHECK(file_text(f.file(i)) == f.content.substr(static_cast<std::size_t>(i) * 40000, 40000));
}

TEST_CASE("pread_disk_io: a read from a file that is not there names the file", "[p2p][disk_io]") {
  disk_fixture f({100000});
  const auto [bytes, e] = f.read(1, 0, block);
  CHECK(e.ec == boost::system::errc::no_such_file_or_directory);
  CHECK(e.operation == lt::operation_t::file_open);
  CHECK(e.file() == lt::file_index_t(0));
  CHECK_FALSE(fs::exists(f.file(0)));  // reading creates nothing
}

TEST_CASE("pread_disk_io: a read past the end of a short file is an error, not zeroes",
          "[p2p][disk_io]") {
  disk_fixture f({100000});
  REQUIRE_FALSE(f.write(0, 0, block));
  const auto [bytes, e] = f.read(1, 0, block);
  CHECK(e.ec == lt::errors::file_too_short);
  CHECK(e.operation == lt::operation_t::file_read);
  CHECK(f.hash(1).second.ec == lt::errors::file_too_short);
}

TEST_CASE("pread_disk_io: checking files says when libtorrent must hash them", "[p2p][disk_io]") {
  disk_fixture f({100000});
  lt::add_torrent_params seed;
  seed.flags |= lt::torrent_flags::seed_mode;
  SECTION("no file yet: nothing to check") {
    const auto [status, e] = f.check(nullptr);
    CHECK(status == lt::status_t::no_error);
    CHECK_FALSE(e);
  }
  SECTION("part of the file: hash what is there") {
    REQUIRE_FALSE(f.write(0, 0, block));
    CHECK(f.check(nullptr).first == lt::status_t::need_full_check);
  }
  SECTION("a seed with the whole file is trusted") {
    f.write_all();
    const auto [status, e] = f.check(&seed);
    CHECK(status == lt::status_t::no_error);
    CHECK_FALSE(e);
  }
  SECTION("a seed whose file is short is checked, and told why") {
    f.write_all();
    fs::resize_file(f.file(0), 99999);
    const auto [status, e] = f.check(&seed);
    CHECK(has(status, lt::status_t::need_full_check));
    CHECK(e.ec == lt::errors::mismatching_file_size);
  }
  SECTION("a file longer than the torrent's is reported") {
    f.write_all();
    fs::resize_file(f.file(0), 100001);
    CHECK(has(f.check(&seed).first, lt::status_t::oversized_file));
  }
}

TEST_CASE("pread_disk_io: moving the storage moves the files and reads follow them",
          "[p2p][disk_io]") {
  disk_fixture f({30000, 30000});
  f.write_all();
  const fs::path to = f.scratch.path / "moved";
  const auto [status, path, e] = f.move(to, lt::move_flags_t::always_replace_files);
  CHECK(status == lt::status_t::no_error);
  CHECK_FALSE(e);
  CHECK(fs::path(path) == to);
  CHECK_FALSE(fs::exists(f.file(0)));
  CHECK(file_text(to / "t" / "f1") == f.content.substr(30000));
  CHECK(f.read(1, 0, block).first == f.content.substr(2 * block, block));
  CHECK(f.hash(0).first == f.expected_hash(0));
}

TEST_CASE("pread_disk_io: moving onto a file that is there (dont_replace) takes it and checks it",
          "[p2p][disk_io]") {
  disk_fixture f({50000});
  f.write_all();
  const fs::path to = f.scratch.path / "store";
  fs::create_directories(to);
  std::ofstream(to / "blob", std::ios::binary) << f.content;  // the store's verified copy
  const auto [status, path, e] = f.move(to, lt::move_flags_t::dont_replace);
  CHECK(status == lt::status_t::need_full_check);
  CHECK(fs::path(path) == to);
  CHECK(fs::exists(f.file(0)));  // left where it was: the caller removes it
  CHECK(f.read(0, 0, block).first == f.content.substr(0, block));
}

TEST_CASE("pread_disk_io: a piece written in order is hashed as written, not read back",
          "[p2p][disk_io]") {
  disk_fixture f({4 * block});
  REQUIRE_FALSE(f.write(0, 0, block));
  REQUIRE_FALSE(f.write(0, block, block));
  // The file changes behind libtorrent's back: the hash is still of the bytes it wrote.
  std::fstream(f.file(0), std::ios::in | std::ios::out | std::ios::binary) << std::string(10, 'x');
  CHECK(f.hash(0).first == f.expected_hash(0));
  // Once hashed, the piece is read from the file the next time.
  CHECK(f.hash(0).first != f.expected_hash(0));
}

TEST_CASE("pread_disk_io: a piece whose blocks came out of order hashes right", "[p2p][disk_io]") {
  disk_fixture f({4 * block}, 4 * block);
  REQUIRE_FALSE(f.write(0, 2 * block, block));
  REQUIRE_FALSE(f.write(0, 0, block));
  REQUIRE_FALSE(f.write(0, 3 * block, block));
  REQUIRE_FALSE(f.write(0, block, block));
  CHECK(f.hash(0).first == f.expected_hash(0));
}

TEST_CASE("pread_disk_io: a block written again with other bytes is hashed as the file has it",
          "[p2p][disk_io]") {
  disk_fixture f({4 * block}, 4 * block);
  const std::string wrong(block, 'w');
  SECTION("the first block again") {
    REQUIRE_FALSE(f.write_bytes(0, 0, wrong));
    REQUIRE_FALSE(f.write(0, block, block));
    REQUIRE_FALSE(f.write(0, 0, block));
  }
  SECTION("a later block again") {
    REQUIRE_FALSE(f.write(0, 0, block));
    REQUIRE_FALSE(f.write_bytes(0, block, wrong));
    REQUIRE_FALSE(f.write(0, block, block));
  }
  SECTION("after a failed hash and libtorrent clearing the piece") {
    REQUIRE_FALSE(f.write_bytes(0, 0, wrong));
    for (int b = 1; b < 4; ++b) REQUIRE_FALSE(f.write(0, b * block, block));
    REQUIRE(f.hash(0).first != f.expected_hash(0));
    bool cleared = false;
    f.disk->async_clear_piece(f.storage, lt::piece_index_t(0),
                              [&](lt::piece_index_t) { cleared = true; });
    f.run();
    REQUIRE(cleared);
    REQUIRE_FALSE(f.write(0, 0, block));
    REQUIRE_FALSE(f.write(0, block, block));
  }
  for (int b = 2; b < 4; ++b) REQUIRE_FALSE(f.write(0, b * block, block));
  CHECK(f.hash(0).first == f.expected_hash(0));
}
