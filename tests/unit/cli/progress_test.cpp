#include "cli/progress.hpp"

#include <catch2/catch.hpp>

using namespace rookery::cli;
using nlohmann::json;

namespace {

json event(const char* name, std::uint64_t bytes, std::uint64_t total) {
  return {{"event", name},
          {"totals",
           {{"bytes", bytes},
            {"total_bytes", total},
            {"from_peers", bytes / 2},
            {"from_upstream", bytes - bytes / 2},
            {"cached", 0},
            {"blobs", 3},
            {"blobs_done", 1},
            {"blobs_failed", 0},
            {"seconds", 2.0}}}};
}

host_progress named(const char* host) {
  host_progress p;
  p.host = host;
  return p;
}

}  // namespace

TEST_CASE("human_bytes below a KiB counts bytes", "[cli][progress]") {
  CHECK(human_bytes(0) == "0 B");
  CHECK(human_bytes(1023) == "1023 B");
}

TEST_CASE("human_bytes uses binary units with three digits", "[cli][progress]") {
  CHECK(human_bytes(1536) == "1.50 KiB");
  CHECK(human_bytes(24 * 1024 * 1024 + 400 * 1024) == "24.4 MiB");
  CHECK(human_bytes(std::uint64_t{300} * 1024 * 1024 * 1024) == "300 GiB");
}

TEST_CASE("human_duration: seconds, minutes, hours", "[cli][progress]") {
  CHECK(human_duration(3.4) == "3s");
  CHECK(human_duration(65) == "1m05s");
  CHECK(human_duration(7380) == "2h03m");
}

TEST_CASE("human_duration of an unknown time is --", "[cli][progress]") {
  CHECK(human_duration(-1) == "--");
}

TEST_CASE("progress_bar fills its share and clamps", "[cli][progress]") {
  CHECK(progress_bar(0.5, 10) == "[#####     ]");
  CHECK(progress_bar(2, 4) == "[####]");
  CHECK(progress_bar(-1, 4) == "[    ]");
}

TEST_CASE("host_progress takes the totals of any event", "[cli][progress]") {
  auto p = named("http://a:5050");
  p.apply(event("blob_progress", 1000, 4000));
  CHECK(p.state == host_progress::phase::running);
  CHECK(p.bytes == 1000);
  CHECK(p.total_bytes == 4000);
  CHECK(p.from_peers == 500);
  CHECK(p.seconds == 2.0);
}

TEST_CASE("host_progress ends with done", "[cli][progress]") {
  auto p = named("a");
  p.apply(event("done", 4000, 4000));
  CHECK(p.state == host_progress::phase::done);
  CHECK(p.finished());
}

TEST_CASE("host_progress keeps the error of a failed event", "[cli][progress]") {
  auto p = named("a");
  p.apply({{"event", "failed"}, {"error", "sha256:ab: upstream answered 401"}});
  CHECK(p.state == host_progress::phase::failed);
  CHECK(p.error == "sha256:ab: upstream answered 401");
}

TEST_CASE("host_progress ignores totals of the wrong type", "[cli][progress]") {
  auto p = named("a");
  p.apply({{"event", "blob_started"}, {"totals", {{"bytes", "lots"}}}});
  CHECK(p.bytes == 0);
}

TEST_CASE("fail does not overwrite a finished host", "[cli][progress]") {
  auto p = named("a");
  p.apply(event("done", 10, 10));
  p.fail("stream broke");
  CHECK(p.state == host_progress::phase::done);
}

TEST_CASE("host_line shows bar, percent, rate, ETA and sources", "[cli][progress]") {
  auto p = named("http://a:5050");
  p.apply(event("blob_progress", 1024 * 1024, 4 * 1024 * 1024));
  CHECK(host_line(p, 16) ==
        "http://a:5050    [######                  ]  25%  1.00 MiB/4.00 MiB  512 KiB/s  ETA 6s"
        "  peers 512 KiB  upstream 512 KiB");
}

TEST_CASE("host_line of a finished host says how long it took", "[cli][progress]") {
  auto p = named("a");
  p.apply(event("done", 2048, 2048));
  CHECK(host_line(p, 1).find("] 100%  2.00 KiB/2.00 KiB  1.00 KiB/s  done 2s") !=
        std::string::npos);
}

TEST_CASE("host_line of a starting host", "[cli][progress]") {
  CHECK(host_line(named("a"), 1) == "a [                        ] starting");
}

TEST_CASE("host_line of a failed host says why", "[cli][progress]") {
  auto p = named("h");
  p.fail("no answer from h");
  CHECK(host_line(p, 1).find("FAILED: no answer from h") != std::string::npos);
}

TEST_CASE("total_json sums the hosts and lists failures", "[cli][progress]") {
  auto a = named("a"), b = named("b");
  a.apply(event("done", 4000, 4000));
  b.fail("refused");
  const auto t = total_json({a, b}, 1.5);
  CHECK(t["event"] == "total");
  CHECK(t["hosts"] == 2);
  CHECK(t["hosts_done"] == 1);
  CHECK(t["bytes"] == 4000);
  CHECK(t["from_peers"] == 2000);
  REQUIRE(t["failed"].size() == 1);
  CHECK(t["failed"][0]["host"] == "b");
  CHECK(t["failed"][0]["error"] == "refused");
}

TEST_CASE("total_line counts hosts done and failed", "[cli][progress]") {
  auto a = named("a"), b = named("b");
  a.apply(event("done", 2048, 2048));
  b.fail("refused");
  CHECK(total_line({a, b}, 2) ==
        "total  1/2 hosts done  2.00 KiB/2.00 KiB  1.00 KiB/s  done 2s  peers 1.00 KiB"
        "  upstream 1.00 KiB  1 failed");
}

TEST_CASE("total_line gives an ETA while hosts run", "[cli][progress]") {
  auto a = named("a");
  a.apply(event("blob_progress", 1024, 4096));
  CHECK(total_line({a}, 1).find("1.00 KiB/s  ETA 3s") != std::string::npos);
}
