#include "layers/store_check.hpp"

#include <catch2/catch.hpp>

#include <fstream>

#include "layers/error.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace rookery::layers;
namespace fs = std::filesystem;

namespace {

digest store_blob(blob_store& store, const std::string& content) {
  const digest d = digest_of(content);
  std::error_code ec;
  auto w = store.begin(d, std::nullopt, ec);
  REQUIRE(w);
  REQUIRE_FALSE(w->write(content.data(), content.size()));
  REQUIRE_FALSE(w->commit());
  return d;
}

// Overwrites one byte of a stored blob in place, as a failing disk would.
void flip_byte(const fs::path& file, std::streamoff at) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  f.seekg(at);
  char c = 0;
  f.get(c);
  f.seekp(at);
  f.put(static_cast<char>(c ^ 0x5a));
}

fs::path stored(blob_store& store, const digest& d) {
  return store.directory(d.algorithm()) / d.hex();
}

}  // namespace

TEST_CASE("check_store passes a healthy store", "[store_check]") {
  const rookery::test::temp_dir root("check");
  blob_store store({root.path});
  store_blob(store, "one");
  store_blob(store, "two");
  const auto report = check_store(store);
  CHECK(report.verified == 2);
  CHECK(report.bytes_checked == 6);
  CHECK(report.quarantined.empty());
  CHECK(store.blob_count() == 2);
}

TEST_CASE("check_store quarantines a blob with a flipped byte", "[store_check]") {
  const rookery::test::temp_dir root("check");
  blob_store store({root.path});
  const auto good = store_blob(store, "healthy layer");
  const auto bad = store_blob(store, "layer that rots");
  flip_byte(stored(store, bad), 3);
  const auto report = check_store(store);
  CHECK(report.verified == 1);
  REQUIRE(report.quarantined.size() == 1);
  CHECK(report.quarantined[0] == bad);
  CHECK_FALSE(store.contains(bad));
  CHECK_FALSE(store.open(bad));
  CHECK(store.contains(good));
  CHECK_FALSE(fs::exists(stored(store, bad)));
  CHECK(fs::exists(store.quarantine_directory() / bad.hex()));
}

TEST_CASE("check_store quarantines a blob that went bad before a restart", "[store_check]") {
  const rookery::test::temp_dir root("check");
  digest bad = digest_of("");
  {
    blob_store store({root.path});
    bad = store_blob(store, "written before the crash");
  }
  flip_byte(root.path / "blobs" / "sha256" / bad.hex(), 0);
  blob_store again({root.path});
  REQUIRE(again.contains(bad));  // the index alone cannot tell
  CHECK(check_store(again).quarantined.size() == 1);
  CHECK_FALSE(again.contains(bad));
  CHECK(again.total_bytes() == 0);
}

TEST_CASE("a quarantined blob can be fetched and committed again", "[store_check]") {
  const rookery::test::temp_dir root("check");
  blob_store store({root.path});
  const auto d = store_blob(store, "fetched twice");
  flip_byte(stored(store, d), 0);
  check_store(store);
  REQUIRE_FALSE(store.contains(d));
  store_blob(store, "fetched twice");
  auto lease = store.open(d);
  REQUIRE(lease);
  CHECK(content_matches(lease->fd(), lease->size(), d));
}

TEST_CASE("blob_store never serves a blob whose file changed size", "[store_check]") {
  const rookery::test::temp_dir root("check");
  blob_store store({root.path});
  const auto d = store_blob(store, "twenty bytes of data");
  fs::resize_file(stored(store, d), 7);
  CHECK_FALSE(store.open(d));
  CHECK_FALSE(store.contains(d));
  CHECK(store.quarantined_count() == 1);
  CHECK(fs::exists(store.quarantine_directory() / d.hex()));
}

TEST_CASE("content_matches wants every byte and no more", "[store_check]") {
  const rookery::test::temp_dir root("check");
  blob_store store({root.path});
  const auto d = store_blob(store, "exact");
  auto lease = store.open(d);
  REQUIRE(lease);
  CHECK(content_matches(lease->fd(), 5, d));
  CHECK_FALSE(content_matches(lease->fd(), 4, d));
  CHECK_FALSE(content_matches(lease->fd(), 5, digest_of("other")));
}

TEST_CASE("blobs found at start are unverified until checked", "[store_check]") {
  const rookery::test::temp_dir root("check");
  digest d = digest_of("");
  {
    blob_store store({root.path});
    d = store_blob(store, "committed in this run");
    auto lease = store.open(d);
    REQUIRE(lease);
    CHECK(lease->verified());  // the writer hashed it
  }
  blob_store again({root.path});
  CHECK_FALSE(again.open(d)->verified());
  check_store(again);
  CHECK(again.open(d)->verified());
}

TEST_CASE("mark_verified sticks to the blob", "[store_check]") {
  const rookery::test::temp_dir root("check");
  digest d = digest_of("");
  {
    blob_store store({root.path});
    d = store_blob(store, "restored");
  }
  blob_store again({root.path});
  again.mark_verified(d);
  CHECK(again.open(d)->verified());
}
