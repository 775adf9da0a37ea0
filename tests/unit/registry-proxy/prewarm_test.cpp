#include "registry-proxy/prewarm.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace rookery::proxy;

namespace {

prewarm_request prewarm_ok(std::string_view body) {
  std::string why;
  auto r = parse_prewarm_request(body, why);
  INFO(body << ": " << why);
  REQUIRE(r);
  return *r;
}

bool refused(std::string_view body) {
  std::string why;
  const bool bad = !parse_prewarm_request(body, why);
  return bad && !why.empty();
}

}  // namespace

TEST_CASE("prewarm request: repository and tag", "[prewarm]") {
  const auto r = prewarm_ok(R"({"image": "demo/app:v1"})");
  CHECK(r.repository == "demo/app");
  CHECK(r.reference == "v1");
  CHECK(r.ns.empty());
}

TEST_CASE("prewarm request: no tag means latest", "[prewarm]") {
  CHECK(prewarm_ok(R"({"image": "demo/app"})").reference == "latest");
}

TEST_CASE("prewarm request: by digest", "[prewarm]") {
  const std::string d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  CHECK(prewarm_ok(R"({"image": "demo/app@)" + d + "\"}").reference == d);
}

TEST_CASE("prewarm request: the host's platform by default", "[prewarm]") {
  const auto r = prewarm_ok(R"({"image": "a"})");
  CHECK(r.platform.os == rookery::layers::host_platform().os);
  CHECK(r.platform.architecture == rookery::layers::host_platform().architecture);
}

TEST_CASE("prewarm request: a named platform and upstream", "[prewarm]") {
  const auto r =
      prewarm_ok(R"({"image": "a:1", "platform": "linux/arm64/v8", "ns": "127.0.0.1:5000"})");
  CHECK(r.platform.architecture == "arm64");
  CHECK(r.platform.variant == "v8");
  CHECK(r.ns == "127.0.0.1:5000");
}

TEST_CASE("prewarm request: null optional fields are absent ones", "[prewarm]") {
  CHECK(prewarm_ok(R"({"image": "a", "platform": null, "ns": null})").ns.empty());
}

TEST_CASE("prewarm request: refuses what is not a JSON object", "[prewarm]") {
  CHECK(refused(""));
  CHECK(refused("[1]"));
  CHECK(refused("{\"image\": "));
}

TEST_CASE("prewarm request: refuses a missing or malformed image", "[prewarm]") {
  CHECK(refused("{}"));
  CHECK(refused(R"({"image": 7})"));
  CHECK(refused(R"({"image": "Demo/App"})"));
  CHECK(refused(R"({"image": "a@sha256:12"})"));
}

TEST_CASE("prewarm request: refuses a malformed platform or ns", "[prewarm]") {
  CHECK(refused(R"({"image": "a", "platform": "amd64"})"));
  CHECK(refused(R"({"image": "a", "platform": "linux/amd64/v1/x"})"));
  CHECK(refused(R"({"image": "a", "ns": 5})"));
}

TEST_CASE("prewarm ids are 32 hex digits and differ", "[prewarm]") {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    const auto id = random_prewarm_id();
    CHECK(valid_prewarm_id(id));
    ids.insert(id);
  }
  CHECK(ids.size() == 100);
}

TEST_CASE("valid_prewarm_id refuses other text", "[prewarm]") {
  CHECK_FALSE(valid_prewarm_id(""));
  CHECK_FALSE(valid_prewarm_id("0123456789ABCDEF0123456789abcdef"));
  CHECK_FALSE(valid_prewarm_id("0123456789abcdef0123456789abcde"));
  CHECK_FALSE(valid_prewarm_id("../../../../etc/passwd0123456789"));
}

TEST_CASE("prewarm totals count fetched, peer and cached bytes", "[prewarm]") {
  boost::asio::io_context io;
  prewarm_job job(io, random_prewarm_id(), "k");
  const auto d1 = *rookery::layers::digest::parse(
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  job.blobs = {{"t", d1, 100, {}}, {"t", d1, 50, {}}, {"t", d1, 30, {}}};
  job.written = {100, 20, 0};
  job.from_peers = {60, 20, 0};
  job.cached_bytes = 30;
  job.blobs_done = 2;
  const auto t = prewarm_totals(job);
  CHECK(t["bytes"] == 150);
  CHECK(t["total_bytes"] == 180);
  CHECK(t["from_peers"] == 80);
  CHECK(t["from_upstream"] == 40);
  CHECK(t["cached"] == 30);
  CHECK(t["blobs"] == 3);
  CHECK(t["blobs_done"] == 2);
}

TEST_CASE("prewarm events are JSON lines with the totals", "[prewarm]") {
  boost::asio::io_context io;
  prewarm_job job(io, random_prewarm_id(), "k");
  job.add_event({{"event", "prewarm"}});
  REQUIRE(job.events.size() == 1);
  CHECK(job.events[0].back() == '\n');
  const auto line = nlohmann::json::parse(job.events[0]);
  CHECK(line["event"] == "prewarm");
  CHECK(line["totals"]["bytes"] == 0);
}
