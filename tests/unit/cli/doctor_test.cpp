#include "cli/doctor.hpp"

#include <catch2/catch.hpp>

using namespace rookery::cli;
using nlohmann::json;

namespace {
json status(std::uint64_t peers, std::uint64_t upstream, std::uint64_t cache = 0) {
  return {
      {"bytes", {{"from_peers", peers}, {"from_upstream", upstream}, {"served_from_cache", cache}}},
      {"swarm", {{"peers", 2}, {"fallbacks", 0}, {"seeder", "http://127.0.0.1:5060"}}}};
}
}  // namespace

TEST_CASE("p2p_check: bytes from peers since start is ok", "[cli][doctor]") {
  const auto r = p2p_check(status(3 * 1024 * 1024, 0));
  CHECK(r.status == check_status::ok);
  CHECK(r.detail.find("from peers") != std::string::npos);
}

TEST_CASE("p2p_check: only upstream bytes is a warning with a hint", "[cli][doctor]") {
  const auto r = p2p_check(status(0, 1000));
  CHECK(r.status == check_status::warn);
  CHECK(r.detail.rfind("no P2P hits", 0) == 0);
  CHECK_FALSE(r.hint.empty());
}

TEST_CASE("p2p_check: a proxy without a swarm is a warning", "[cli][doctor]") {
  CHECK(p2p_check(json{{"bytes", {{"from_upstream", 5}}}}).status == check_status::warn);
}

TEST_CASE("probe_check: counts only what the probe moved", "[cli][doctor]") {
  const probe_pull pull{"demo/app:v1", 3, 4096};
  CHECK(probe_check(pull, status(100, 0), status(100 + 4096, 0)).status == check_status::ok);
  // Peers delivered before the probe, upstream during it: no P2P hits now.
  const auto r = probe_check(pull, status(100, 0), status(100, 4096));
  CHECK(r.status == check_status::warn);
  CHECK(r.detail.find("no P2P hits") != std::string::npos);
}

TEST_CASE("probe_check: an image already cached proves nothing", "[cli][doctor]") {
  const auto r = probe_check({"demo/app:v1", 3, 4096}, status(0, 0, 0), status(0, 0, 4096));
  CHECK(r.status == check_status::warn);
  CHECK(r.detail.find("already cached") != std::string::npos);
}

TEST_CASE("the report has a line per check, hints below, and FAIL sets the exit status",
          "[cli][doctor]") {
  const std::vector<check_result> checks = {
      {"proxy", check_status::ok, "answers", ""},
      {"docker daemon.json", check_status::fail, "no mirror", "run setup"}};
  CHECK(format_report(checks) ==
        "ok    proxy: answers\n"
        "FAIL  docker daemon.json: no mirror\n"
        "      hint: run setup\n");
  CHECK(doctor_exit_status(checks) == 1);
  const auto doc = report_json(checks);
  CHECK(doc["ok"] == false);
  CHECK(doc["checks"][1]["status"] == "FAIL");
  CHECK(doctor_exit_status({checks[0], {"x", check_status::warn, "", ""}}) == 0);
}
