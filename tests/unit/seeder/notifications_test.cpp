#include "seeder/notifications.hpp"

#include <catch2/catch.hpp>

using rookery::seeder::image_queue;
using rookery::seeder::image_ref;
using rookery::seeder::parse_notifications;

namespace {

const std::string manifest_digest =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string event(const std::string& action, const std::string& media_type,
                  const std::string& repository, const std::string& digest) {
  return R"({"action":")" + action + R"(","target":{"mediaType":")" + media_type +
         R"(","repository":")" + repository + R"(","digest":")" + digest + R"("}})";
}

const std::string oci_manifest = "application/vnd.oci.image.manifest.v1+json";

}  // namespace

TEST_CASE("notifications: a manifest push becomes an image to seed", "[notifications]") {
  auto pushed = parse_notifications(R"({"events":[)" +
                                    event("push", oci_manifest, "team/app", manifest_digest) +
                                    "]}");
  REQUIRE(pushed);
  REQUIRE(pushed->size() == 1);
  CHECK((*pushed)[0] == image_ref{"team/app", manifest_digest});
}

TEST_CASE("notifications: pulls, blob pushes and bad names are skipped", "[notifications]") {
  auto pushed = parse_notifications(
      R"({"events":[)" + event("pull", oci_manifest, "team/app", manifest_digest) + "," +
      event("push", "application/octet-stream", "team/app", manifest_digest) + "," +
      event("push", oci_manifest, "Team/App", manifest_digest) + "," +
      event("push", oci_manifest, "team/app", "sha256:short") + "]}");
  REQUIRE(pushed);
  CHECK(pushed->empty());
}

TEST_CASE("notifications: fields of the wrong type are skipped, not fatal", "[notifications]") {
  auto pushed = parse_notifications(
      R"({"events":[{"action":7},{"action":"push","target":[1]},)"
      R"({"action":"push","target":{"mediaType":1,"repository":{},"digest":null}},)" +
      event("push", oci_manifest, "ok/app", manifest_digest) + "]}");
  REQUIRE(pushed);
  REQUIRE(pushed->size() == 1);
  CHECK((*pushed)[0].repository == "ok/app");
}

TEST_CASE("notifications: a body that is no envelope is refused", "[notifications]") {
  CHECK_FALSE(parse_notifications("not json"));
  CHECK_FALSE(parse_notifications("[]"));
  CHECK_FALSE(parse_notifications(R"({"events":{}})"));
  CHECK_FALSE(parse_notifications(R"({"other":[]})"));
}

TEST_CASE("image_queue runs at most its slots and coalesces duplicates", "[image_queue]") {
  image_queue q(2, 10);
  CHECK(q.push({"a", "1"}) == image_queue::outcome::queued);
  CHECK(q.push({"a", "1"}) == image_queue::outcome::coalesced);
  CHECK(q.push({"b", "1"}) == image_queue::outcome::queued);
  CHECK(q.push({"c", "1"}) == image_queue::outcome::queued);
  auto first = q.start_next();
  auto second = q.start_next();
  REQUIRE(first);
  REQUIRE(second);
  CHECK_FALSE(q.start_next());  // both slots busy
  CHECK(q.running() == 2);
  CHECK(q.waiting() == 1);
  CHECK(q.push({"a", "1"}) == image_queue::outcome::coalesced);  // running counts too
  q.finished(*first);
  auto third = q.start_next();
  REQUIRE(third);
  CHECK(third->repository == "c");
  CHECK(q.peak() == 2);
  CHECK(q.push({"a", "1"}) == image_queue::outcome::queued);  // finished: may come again
}

TEST_CASE("image_queue refuses beyond its waiting bound", "[image_queue]") {
  image_queue q(1, 2);
  CHECK(q.push({"a", "1"}) == image_queue::outcome::queued);
  CHECK(q.push({"b", "1"}) == image_queue::outcome::queued);
  CHECK(q.push({"c", "1"}) == image_queue::outcome::full);
  CHECK(q.waiting() == 2);
  REQUIRE(q.start_next());
  CHECK(q.push({"c", "1"}) == image_queue::outcome::queued);
}
