#include "p2p/metainfo_store.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "tests/unit/temp_dir.hpp"

using rookery::layers::digest_of;
using rookery::p2p::metainfo_store;
using rookery::test::temp_dir;
namespace fs = std::filesystem;

TEST_CASE("metainfo_store saves, loads and lists by digest", "[metainfo_store]") {
  const temp_dir dir("metainfo");
  metainfo_store store(dir.path);
  const auto a = digest_of("a"), b = digest_of("b");
  REQUIRE(store.save(a, "d4:infoe"));
  REQUIRE(store.save(b, "other"));
  CHECK(store.load(a) == "d4:infoe");
  CHECK(store.list().size() == 2);
  store.remove(a);
  CHECK_FALSE(store.load(a));
  CHECK(store.list() == std::vector{b});
}

TEST_CASE("metainfo_store drops leftovers that name no digest", "[metainfo_store]") {
  const temp_dir dir("metainfo");
  metainfo_store store(dir.path);
  const auto a = digest_of("a");
  REQUIRE(store.save(a, "x"));
  std::ofstream(dir.path / (a.hex() + ".torrent.tmp")) << "half";
  std::ofstream(dir.path / "junk.torrent") << "junk";
  CHECK(store.list() == std::vector{a});
  CHECK_FALSE(fs::exists(dir.path / "junk.torrent"));
  CHECK_FALSE(fs::exists(dir.path / (a.hex() + ".torrent.tmp")));
}

TEST_CASE("metainfo_store overwrites atomically", "[metainfo_store]") {
  const temp_dir dir("metainfo");
  metainfo_store store(dir.path);
  const auto a = digest_of("a");
  REQUIRE(store.save(a, "first"));
  REQUIRE(store.save(a, "second"));
  CHECK(store.load(a) == "second");
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator{}) == 1);
}
