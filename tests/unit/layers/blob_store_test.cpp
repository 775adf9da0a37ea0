#include "layers/blob_store.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include "layers/error.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace rookery::layers;
namespace fs = std::filesystem;

namespace {

std::string read_all(int fd, std::uint64_t size) {
  std::string out(size, '\0');
  REQUIRE(::pread(fd, out.data(), size, 0) == static_cast<ssize_t>(size));
  return out;
}

std::error_code put(blob_store& store, std::string_view content, std::optional<digest> as = {}) {
  const digest d = as.value_or(digest_of(content));
  std::error_code ec;
  auto w = store.begin(d, std::nullopt, ec);
  REQUIRE(w);
  if (auto e = w->write(content.data(), content.size())) return e;
  return w->commit();
}

std::size_t files_in(const fs::path& dir) {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator{}));
}

}  // namespace

TEST_CASE("blob_store commits a verified blob and serves it", "[blob_store]") {
  const rookery::test::temp_dir root("store");
  blob_store store({root.path});
  REQUIRE_FALSE(put(store, "layer bytes"));
  auto lease = store.open(digest_of("layer bytes"));
  REQUIRE(lease);
  CHECK(lease->size() == 11);
  CHECK(read_all(lease->fd(), lease->size()) == "layer bytes");
  CHECK(files_in(root.path / "tmp") == 0);
}

TEST_CASE("blob_store stores the zero-byte blob", "[blob_store]") {
  const rookery::test::temp_dir root("store");
  blob_store store({root.path});
  REQUIRE_FALSE(put(store, ""));
  auto lease = store.open(digest_of(""));
  REQUIRE(lease);
  CHECK(lease->size() == 0);
}

TEST_CASE("blob_store refuses corrupt content and leaves nothing behind", "[blob_store]") {
  const rookery::test::temp_dir root("store");
  blob_store store({root.path});
  CHECK(put(store, "tampered", digest_of("original")) == rookery::errc::digest_invalid);
  CHECK_FALSE(store.contains(digest_of("original")));
  CHECK_FALSE(fs::exists(root.path / "blobs" / "sha256" / digest_of("original").hex()));
  CHECK(files_in(root.path / "tmp") == 0);
}

TEST_CASE("blob_store refuses a truncated blob", "[blob_store]") {
  const rookery::test::temp_dir root("store");
  blob_store store({root.path});
  const std::string full = "0123456789";
  std::error_code ec;
  auto w = store.begin(digest_of(full), full.size(), ec);
  REQUIRE(w);
  REQUIRE_FALSE(w->write(full.data(), 6));
  CHECK(w->commit() == rookery::errc::size_invalid);
  CHECK_FALSE(store.contains(digest_of(full)));
}

TEST_CASE("blob_store refuses bytes past the expected size", "[blob_store]") {
  const rookery::test::temp_dir root("store");
  blob_store store({root.path});
  std::error_code ec;
  auto w = store.begin(digest_of("abc"), 3, ec);
  REQUIRE(w);
  CHECK(w->write("abcd", 4) == rookery::errc::size_invalid);
}

TEST_CASE("blob_store discards an abandoned write", "[blob_store]") {
  const rookery::test::temp_dir root("store");
  blob_store store({root.path});
  {
    std::error_code ec;
    auto w = store.begin(digest_of("abc"), 3, ec);
    REQUIRE(w);
    REQUIRE_FALSE(w->write("ab", 2));
    CHECK(files_in(root.path / "tmp") == 1);
  }
  CHECK(files_in(root.path / "tmp") == 0);
  CHECK_FALSE(store.contains(digest_of("abc")));
}

TEST_CASE("blob_store lets readers follow a blob being written", "[blob_store]") {
  const rookery::test::temp_dir root("store");
  blob_store store({root.path});
  std::error_code ec;
  auto w = store.begin(digest_of("streamed"), std::nullopt, ec);
  REQUIRE(w);
  REQUIRE_FALSE(w->write("stre", 4));
  std::ifstream follower(w->temp_path(), std::ios::binary);
  std::string head(4, '\0');
  follower.read(head.data(), 4);
  CHECK(head == "stre");
  REQUIRE_FALSE(w->write("amed", 4));
  REQUIRE_FALSE(w->commit());
  std::string tail(4, '\0');
  follower.read(tail.data(), 4);  // the open file survives the rename into place
  CHECK(tail == "amed");
}

TEST_CASE("blob_store concurrent writers of one digest end with one blob", "[blob_store]") {
  const rookery::test::temp_dir root("store");
  blob_store store({root.path});
  std::string content(1 << 20, 'x');
  for (std::size_t i = 0; i < content.size(); i += 7) content[i] = static_cast<char>(i);
  const digest d = digest_of(content);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      std::error_code ec;
      auto w = store.begin(d, content.size(), ec);
      for (std::size_t off = 0; w && off < content.size(); off += 4096) {
        if (w->write(content.data() + off, 4096)) ++failures;
      }
      if (!w || w->commit()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(store.blob_count() == 1);
  CHECK(store.total_bytes() == content.size());
  CHECK(files_in(root.path / "blobs" / "sha256") == 1);
  CHECK(files_in(root.path / "tmp") == 0);
  auto lease = store.open(d);
  REQUIRE(lease);
  CHECK(read_all(lease->fd(), lease->size()) == content);
}

TEST_CASE("blob_store evicts the least recently used blob over budget", "[blob_store]") {
  const rookery::test::temp_dir root("store");
  blob_store store({root.path, 25, {}});
  REQUIRE_FALSE(put(store, std::string(10, 'a')));
  REQUIRE_FALSE(put(store, std::string(10, 'b')));
  store.open(digest_of(std::string(10, 'a')));  // 'a' is now more recent than 'b'
  REQUIRE_FALSE(put(store, std::string(10, 'c')));
  CHECK(store.contains(digest_of(std::string(10, 'a'))));
  CHECK_FALSE(store.contains(digest_of(std::string(10, 'b'))));
  CHECK(store.contains(digest_of(std::string(10, 'c'))));
  CHECK(store.total_bytes() == 20);
}

TEST_CASE("blob_store never evicts a blob in use", "[blob_store]") {
  const rookery::test::temp_dir root("store");
  blob_store store({root.path, 15, {}});
  REQUIRE_FALSE(put(store, std::string(10, 'a')));
  auto held = store.open(digest_of(std::string(10, 'a')));
  REQUIRE(held);
  REQUIRE_FALSE(put(store, std::string(10, 'b')));
  CHECK(store.contains(digest_of(std::string(10, 'a'))));  // pinned, 'b' went instead
  CHECK_FALSE(store.contains(digest_of(std::string(10, 'b'))));
  CHECK(read_all(held->fd(), 10) == std::string(10, 'a'));
}

TEST_CASE("blob_store evicts a blob once its lease ends", "[blob_store]") {
  const rookery::test::temp_dir root("store");
  blob_store store({root.path, 15, {}});
  REQUIRE_FALSE(put(store, std::string(10, 'a')));
  {
    auto held = store.open(digest_of(std::string(10, 'a')));
    REQUIRE_FALSE(put(store, std::string(10, 'b')));
    // both are over budget now; 'b' was evicted since 'a' is pinned
  }
  REQUIRE_FALSE(put(store, std::string(10, 'c')));
  CHECK(store.total_bytes() <= 15);
  CHECK(store.contains(digest_of(std::string(10, 'c'))));
}

TEST_CASE("blob_store rebuilds its index on restart and drops temporary files", "[blob_store]") {
  const rookery::test::temp_dir root("store");
  {
    blob_store store({root.path});
    REQUIRE_FALSE(put(store, "kept"));
    std::error_code ec;
    auto w = store.begin(digest_of("crashed"), std::nullopt, ec);
    REQUIRE(w);
    REQUIRE_FALSE(w->write("cra", 3));
    // simulate a crash: the temporary file survives the writer
    fs::copy_file(w->temp_path(), root.path / "tmp" / "leftover");
  }
  std::ofstream(root.path / "blobs" / "sha256" / "not-a-digest") << "junk";
  blob_store reopened({root.path});
  CHECK(reopened.blob_count() == 1);
  CHECK(reopened.contains(digest_of("kept")));
  CHECK(reopened.total_bytes() == 4);
  CHECK(files_in(root.path / "tmp") == 0);
  CHECK_FALSE(fs::exists(root.path / "blobs" / "sha256" / "not-a-digest"));
}

TEST_CASE("blob_store remove refuses a pinned blob", "[blob_store]") {
  const rookery::test::temp_dir root("store");
  blob_store store({root.path});
  REQUIRE_FALSE(put(store, "x"));
  {
    auto held = store.open(digest_of("x"));
    CHECK_FALSE(store.remove(digest_of("x")));
  }
  CHECK(store.remove(digest_of("x")));
  CHECK_FALSE(store.open(digest_of("x")));
}

TEST_CASE("blob_store tells its owner about an eviction before the file goes", "[blob_store]") {
  const rookery::test::temp_dir root("store");
  std::vector<std::pair<digest, bool>> told;  // digest, was its file still there
  blob_store::options opts{root.path, 15, {}};
  opts.before_evict = [&](const digest& d) {
    told.emplace_back(d, fs::exists(root.path / "blobs" / "sha256" / d.hex()));
  };
  blob_store store(std::move(opts));
  REQUIRE_FALSE(put(store, std::string(10, 'a')));
  REQUIRE_FALSE(put(store, std::string(10, 'b')));
  REQUIRE(told.size() == 1);
  CHECK(told[0].first == digest_of(std::string(10, 'a')));
  CHECK(told[0].second);
  CHECK_FALSE(store.contains(digest_of(std::string(10, 'a'))));
}

TEST_CASE("blob_store collect evicts least recently used blobs down to its target",
          "[blob_store]") {
  const rookery::test::temp_dir root("store");
  blob_store store({root.path});
  for (char c : {'a', 'b', 'c', 'd'}) REQUIRE_FALSE(put(store, std::string(10, c)));
  store.open(digest_of(std::string(10, 'a')));  // 'a' is now the most recent
  const auto report = store.collect(20);
  CHECK(report.target_bytes == 20);
  CHECK(report.freed_bytes == 20);
  CHECK(report.freed_blobs == 2);
  CHECK(report.kept_bytes == 20);
  CHECK(report.kept_blobs == 2);
  CHECK(report.in_use_blobs == 0);
  CHECK(store.contains(digest_of(std::string(10, 'a'))));
  CHECK(store.contains(digest_of(std::string(10, 'd'))));
  CHECK_FALSE(store.contains(digest_of(std::string(10, 'b'))));
}

TEST_CASE("blob_store eviction and collect leave no file of an evicted blob behind",
          "[blob_store]") {
  const rookery::test::temp_dir root("store");
  blob_store store({root.path, 25, {}});
  for (char c : {'a', 'b', 'c', 'd'}) REQUIRE_FALSE(put(store, std::string(10, c)));
  CHECK(files_in(root.path / "blobs" / "sha256") == 2);  // the budget evicted 'a' and 'b'
  CHECK(files_in(root.path / "tmp") == 0);               // moved aside, then unlinked
  CHECK(store.collect(10).freed_blobs == 1);
  CHECK(files_in(root.path / "blobs" / "sha256") == 1);
  CHECK(files_in(root.path / "tmp") == 0);
  CHECK(store.contains(digest_of(std::string(10, 'd'))));
}

TEST_CASE("blob_store collect passes over a leased blob and keeps its bytes readable",
          "[blob_store]") {
  const rookery::test::temp_dir root("store");
  blob_store store({root.path});
  for (char c : {'a', 'b', 'c'}) REQUIRE_FALSE(put(store, std::string(10, c)));
  auto held = store.open(digest_of(std::string(10, 'a')));
  REQUIRE(held);
  store.open(digest_of(std::string(10, 'b')));
  store.open(digest_of(std::string(10, 'c')));  // 'a' is the oldest, but leased
  const auto report = store.collect(10);
  CHECK(report.in_use_blobs == 1);
  CHECK(report.in_use_bytes == 10);
  CHECK(report.freed_blobs == 2);
  CHECK(report.kept_bytes == 10);
  CHECK(store.contains(digest_of(std::string(10, 'a'))));
  CHECK(read_all(held->fd(), 10) == std::string(10, 'a'));
}

TEST_CASE("blob_store collect and the budget skip blobs the owner says are in use",
          "[blob_store]") {
  const rookery::test::temp_dir root("store");
  const digest busy = digest_of(std::string(10, 'a'));
  blob_store::options opts{root.path, 25, {}};
  opts.in_use = [&](const digest& d) { return d == busy; };
  blob_store store(std::move(opts));
  REQUIRE_FALSE(put(store, std::string(10, 'a')));
  REQUIRE_FALSE(put(store, std::string(10, 'b')));
  REQUIRE_FALSE(put(store, std::string(10, 'c')));  // over budget: 'b' goes, not busy 'a'
  CHECK(store.contains(busy));
  CHECK_FALSE(store.contains(digest_of(std::string(10, 'b'))));
  const auto report = store.collect(0);
  CHECK(report.in_use_blobs == 1);
  CHECK(report.freed_blobs == 1);
  CHECK(report.kept_bytes == 10);
  CHECK(store.contains(busy));
}

TEST_CASE("blob_store collect below the target frees nothing", "[blob_store]") {
  const rookery::test::temp_dir root("store");
  blob_store store({root.path});
  REQUIRE_FALSE(put(store, std::string(10, 'a')));
  const auto report = store.collect(10);
  CHECK(report.freed_blobs == 0);
  CHECK(report.kept_blobs == 1);
  CHECK(report.in_use_blobs == 0);
}

namespace {

// A file another writer (libtorrent, say) wrote, beside the store.
fs::path other_file(const fs::path& dir, std::string_view content) {
  const auto path = dir / "download";
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

ino_t inode(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_ino;
}

// The stored blob's bytes.
std::string stored_bytes(blob_store& store, const digest& d) {
  auto lease = store.open(d);
  REQUIRE(lease);
  return read_all(lease->fd(), lease->size());
}

std::string contents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("blob_store takes bytes another writer left in a file without copying them",
          "[blob_store]") {
  const rookery::test::temp_dir root("store"), other("other");
  blob_store store({root.path});
  const std::string content = "layer bytes written by a torrent";
  const auto file = other_file(other.path, content);
  std::error_code ec;
  auto w = store.begin(digest_of(content), content.size(), ec);
  REQUIRE(w);
  REQUIRE_FALSE(w->take(file, 5));
  CHECK(w->file_changes() == 1);
  CHECK(inode(w->temp_path()) == inode(file));  // followers reopen the temporary name
  REQUIRE_FALSE(w->take(file, content.size() - 5));
  CHECK(w->file_changes() == 1);
  REQUIRE_FALSE(w->commit());
  const auto stored = store.directory(digest_algorithm::sha256) / digest_of(content).hex();
  CHECK(inode(stored) == inode(file));  // one file on disk, two names
  CHECK(contents(file) == content);
  CHECK(stored_bytes(store, digest_of(content)) == content);
  CHECK(files_in(root.path / "tmp") == 0);
}

TEST_CASE("blob_store writer copies what it took before it writes bytes from elsewhere",
          "[blob_store]") {
  // The registry sends the rest after the swarm stalled: those bytes must not land in the
  // torrent's file, whose owner may still write its own there.
  const rookery::test::temp_dir root("store"), other("other");
  blob_store store({root.path});
  const auto file = other_file(other.path, "AAAA(unverified)");
  std::error_code ec;
  auto w = store.begin(digest_of("AAAABBBB"), 8, ec);
  REQUIRE(w);
  REQUIRE_FALSE(w->take(file, 4));
  std::ifstream follower(w->temp_path(), std::ios::binary);  // opened while shared
  REQUIRE_FALSE(w->write("BBBB", 4));
  CHECK(w->file_changes() == 2);
  CHECK(inode(w->temp_path()) != inode(file));
  CHECK(contents(w->temp_path()) == "AAAABBBB");
  CHECK(files_in(root.path / "tmp") == 1);  // the link went
  std::string head(4, '\0');
  follower.read(head.data(), 4);
  CHECK(head == "AAAA");  // what a follower sent from the old name stays right
  REQUIRE_FALSE(w->commit());
  CHECK(contents(file) == "AAAA(unverified)");
  CHECK(stored_bytes(store, digest_of("AAAABBBB")) == "AAAABBBB");
}

TEST_CASE("blob_store writer copies taken bytes when it wrote some of its own first",
          "[blob_store]") {
  const rookery::test::temp_dir root("store"), other("other");
  blob_store store({root.path});
  const auto file = other_file(other.path, "..cdef");
  std::error_code ec;
  auto w = store.begin(digest_of("abcdef"), 6, ec);
  REQUIRE(w);
  REQUIRE_FALSE(w->write("ab", 2));
  REQUIRE_FALSE(w->take(file, 4));
  CHECK(w->file_changes() == 0);
  REQUIRE_FALSE(w->commit());
  CHECK(contents(file) == "..cdef");
  CHECK(stored_bytes(store, digest_of("abcdef")) == "abcdef");
}

TEST_CASE("blob_store writer refuses taken bytes that do not make the blob", "[blob_store]") {
  const rookery::test::temp_dir root("store"), other("other");
  blob_store store({root.path});
  const auto file = other_file(other.path, "abcdef");
  std::error_code ec;
  SECTION("bytes the file does not have") {
    auto w = store.begin(digest_of("abcdefgh"), std::nullopt, ec);
    REQUIRE(w);
    CHECK(w->take(file, 8) == rookery::errc::size_invalid);
  }
  SECTION("a file longer than the blob") {
    auto w = store.begin(digest_of("abc"), std::nullopt, ec);
    REQUIRE(w);
    REQUIRE_FALSE(w->take(file, 3));
    CHECK(w->commit() == rookery::errc::size_invalid);
    CHECK_FALSE(store.contains(digest_of("abc")));
  }
  SECTION("bytes that hash to another digest") {
    auto w = store.begin(digest_of("abcdeX"), 6, ec);
    REQUIRE(w);
    REQUIRE_FALSE(w->take(file, 6));
    CHECK(w->commit() == rookery::errc::digest_invalid);
    CHECK_FALSE(store.contains(digest_of("abcdeX")));
  }
  // The other writer's file is never the store's to delete.
  CHECK(contents(file) == "abcdef");
  CHECK(files_in(root.path / "tmp") == 0);
}
