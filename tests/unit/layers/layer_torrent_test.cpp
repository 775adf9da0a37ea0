#include "layers/layer_torrent.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <libtorrent/torrent_info.hpp>
#include <random>

#include "layers/error.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace rookery::layers;
namespace fs = std::filesystem;

namespace {

// A file holding `content` in a scratch directory of its own, open for reading.
struct temp_file {
  rookery::test::temp_dir dir{"torrent"};
  fs::path path = dir.path / "blob";
  int fd = -1;
  explicit temp_file(const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
    fd = ::open(path.c_str(), O_RDONLY);
  }
  ~temp_file() { ::close(fd); }
};

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen());
  return s;
}

}  // namespace

TEST_CASE("piece length follows the fixed rule", "[layer_torrent]") {
  CHECK(piece_length_for(1) == 64 * 1024);
  CHECK(piece_length_for(32 * 1024 * 1024) == 64 * 1024);
  CHECK(piece_length_for(32 * 1024 * 1024 + 1) == 128 * 1024);
  CHECK(piece_length_for(64 * 1024 * 1024) == 128 * 1024);
  CHECK(piece_length_for(64 * 1024 * 1024 + 1) == 256 * 1024);
  CHECK(piece_length_for(1ull << 30) == 2 * 1024 * 1024);
  CHECK(piece_length_for(100ull << 30) == 4 * 1024 * 1024);
}

TEST_CASE("two independent creations give one info-hash", "[layer_torrent]") {
  const std::string content = random_bytes(300 * 1024 + 17, 1);
  const digest d = digest_of(content);
  temp_file a(content), b(content);
  std::error_code ec;
  auto first = make_layer_torrent(a.fd, content.size(), d, {"http://seeder-a/announce"}, {}, ec);
  REQUIRE(first);
  auto second = make_layer_torrent(b.fd, content.size(), d, {"http://seeder-b/announce"},
                                   torrent_extras{{"http://seeder-b/v1/blobs/" + d.str()}, {}}, ec);
  REQUIRE(second);
  CHECK(to_hex(first->info_hash).size() == 40);
  CHECK_FALSE(first->info_hash.is_all_zeros());
  CHECK(first->info_hash == second->info_hash);
  CHECK(first->metainfo != second->metainfo);  // trackers and web seeds differ, outside info
  CHECK(first->piece_count == 5);              // 64 KiB pieces
}

TEST_CASE("the metainfo names the file by the digest's hex and has no date", "[layer_torrent]") {
  const std::string content = random_bytes(1000, 2);
  const digest d = digest_of(content);
  temp_file f(content);
  std::error_code ec;
  auto t = make_layer_torrent(f.fd, content.size(), d, {}, {}, ec);
  REQUIRE(t);
  CHECK(t->metainfo.find("4:name64:" + d.hex()) != std::string::npos);
  CHECK(t->metainfo.find("creation date") == std::string::npos);
  CHECK(t->metainfo.find("created by") == std::string::npos);
}

TEST_CASE("different content gives a different info-hash", "[layer_torrent]") {
  const std::string one = random_bytes(5000, 3), two = random_bytes(5000, 4);
  temp_file a(one), b(two);
  std::error_code ec;
  auto ta = make_layer_torrent(a.fd, one.size(), digest_of(one), {}, {}, ec);
  auto tb = make_layer_torrent(b.fd, two.size(), digest_of(two), {}, {}, ec);
  REQUIRE(ta);
  REQUIRE(tb);
  CHECK(ta->info_hash != tb->info_hash);
}

TEST_CASE("content that does not match the digest gives no torrent", "[layer_torrent]") {
  const std::string content = random_bytes(4096, 5);
  temp_file f(content);
  std::error_code ec;
  CHECK_FALSE(make_layer_torrent(f.fd, content.size(), digest_of("something else"), {}, {}, ec));
  CHECK(ec == rookery::errc::digest_invalid);
}

TEST_CASE("a short file gives no torrent", "[layer_torrent]") {
  const std::string content = random_bytes(4096, 6);
  temp_file f(content);
  std::error_code ec;
  CHECK_FALSE(make_layer_torrent(f.fd, content.size() + 10, digest_of(content), {}, {}, ec));
  CHECK(ec == rookery::errc::store_failure);
}

TEST_CASE("the empty blob has no torrent", "[layer_torrent]") {
  temp_file f("");
  std::error_code ec;
  CHECK_FALSE(make_layer_torrent(f.fd, 0, digest_of(""), {}, {}, ec));
  CHECK(ec == rookery::errc::size_invalid);
}

TEST_CASE("a torrent hashed while streaming equals one hashed from the file", "[layer_torrent]") {
  const std::string content = random_bytes(700 * 1024 + 3, 7);
  const digest d = digest_of(content);
  temp_file f(content);
  std::error_code ec;
  auto from_file = make_layer_torrent(f.fd, content.size(), d, {}, {}, ec);
  REQUIRE(from_file);
  piece_hasher pieces(content.size());
  for (std::size_t off = 0; off < content.size(); off += 1000) {
    pieces.update(content.data() + off, std::min<std::size_t>(1000, content.size() - off));
  }
  REQUIRE(pieces.complete());
  auto streamed = build_layer_torrent(d, std::move(pieces), {}, {}, ec);
  REQUIRE(streamed);
  CHECK(streamed->info_hash == from_file->info_hash);
}

TEST_CASE("an incomplete piece_hasher gives no torrent", "[layer_torrent]") {
  piece_hasher pieces(1000);
  pieces.update(std::string(999, 'x').data(), 999);
  std::error_code ec;
  CHECK_FALSE(build_layer_torrent(digest_of("x"), std::move(pieces), {}, {}, ec));
  CHECK(ec == rookery::errc::size_invalid);
}

TEST_CASE("a fleet CA makes an SSL torrent with its own info-hash", "[layer_torrent]") {
  const std::string content = random_bytes(200 * 1024, 3);
  const digest d = digest_of(content);
  temp_file f(content);
  std::error_code ec;
  const std::string ca =
      "-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n";
  auto open = make_layer_torrent(f.fd, content.size(), d, {}, {}, ec);
  auto fleet = make_layer_torrent(f.fd, content.size(), d, {}, torrent_extras{{}, ca}, ec);
  auto again = make_layer_torrent(f.fd, content.size(), d, {"http://x/announce"},
                                  torrent_extras{{}, ca}, ec);
  REQUIRE(open);
  REQUIRE(fleet);
  REQUIRE(again);
  CHECK(open->info_hash != fleet->info_hash);  // the CA is inside the info dictionary
  CHECK(fleet->info_hash == again->info_hash);
  lt::error_code lec;
  lt::torrent_info info(fleet->metainfo.data(), static_cast<int>(fleet->metainfo.size()), lec);
  REQUIRE_FALSE(lec);
  CHECK(std::string(info.ssl_cert()) == ca);
}
