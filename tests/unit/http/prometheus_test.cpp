#include "http/prometheus.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using rookery::http::prometheus_text;

TEST_CASE("prometheus_text writes HELP, TYPE and the sample under the prefix", "[prometheus]") {
  prometheus_text out("rookery_test_");
  out.counter("bytes_total", "Bytes sent.", 42).gauge("blobs", "Blobs held.", 7);
  CHECK(out.str() ==
        "# HELP rookery_test_bytes_total Bytes sent.\n"
        "# TYPE rookery_test_bytes_total counter\n"
        "rookery_test_bytes_total 42\n"
        "# HELP rookery_test_blobs Blobs held.\n"
        "# TYPE rookery_test_blobs gauge\n"
        "rookery_test_blobs 7\n");
}

TEST_CASE("prometheus_text writes the largest counter value exactly", "[prometheus]") {
  prometheus_text out("x_");
  out.counter("c", "h", UINT64_MAX);
  CHECK(out.str().find("x_c 18446744073709551615\n") != std::string::npos);
}

using rookery::http::latency_histogram;
using namespace std::chrono_literals;

namespace {
// The lines of `text` that start with `prefix`.
std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}
}  // namespace

TEST_CASE("an empty histogram writes every bucket, +Inf last, a zero sum and count",
          "[prometheus]") {
  latency_histogram h({0.1, 1});
  prometheus_text out("x_");
  out.histograms("took_seconds", "Time taken.", "route", {{"blob", &h}});
  CHECK(out.str() ==
        "# HELP x_took_seconds Time taken.\n"
        "# TYPE x_took_seconds histogram\n"
        "x_took_seconds_bucket{route=\"blob\",le=\"0.1\"} 0\n"
        "x_took_seconds_bucket{route=\"blob\",le=\"1\"} 0\n"
        "x_took_seconds_bucket{route=\"blob\",le=\"+Inf\"} 0\n"
        "x_took_seconds_sum{route=\"blob\"} 0\n"
        "x_took_seconds_count{route=\"blob\"} 0\n");
}

TEST_CASE("histogram buckets are cumulative and the count equals the +Inf bucket", "[prometheus]") {
  latency_histogram h({0.01, 0.1, 1});
  h.observe(5ms);
  h.observe(50ms);
  h.observe(60ms);
  h.observe(3s);
  prometheus_text out("x_");
  out.histograms("t", "h", "route", {{"m", &h}});
  CHECK(lines_starting(out.str(), "x_t_bucket") ==
        std::vector<std::string>{
            "x_t_bucket{route=\"m\",le=\"0.01\"} 1", "x_t_bucket{route=\"m\",le=\"0.1\"} 3",
            "x_t_bucket{route=\"m\",le=\"1\"} 3", "x_t_bucket{route=\"m\",le=\"+Inf\"} 4"});
  CHECK(lines_starting(out.str(), "x_t_count") ==
        std::vector<std::string>{"x_t_count{route=\"m\"} 4"});
  CHECK(lines_starting(out.str(), "x_t_sum") ==
        std::vector<std::string>{"x_t_sum{route=\"m\"} 3.115"});
}

TEST_CASE("a duration equal to a bound counts in that bound's bucket (le is inclusive)",
          "[prometheus]") {
  latency_histogram h({0.25, 1});
  h.observe(250ms);
  CHECK(h.bucket_counts() == std::vector<std::uint64_t>{1, 0, 0});
  h.observe(250ms + 1ns);
  CHECK(h.bucket_counts() == std::vector<std::uint64_t>{1, 1, 0});
}

TEST_CASE("a duration past the last bound counts only in +Inf", "[prometheus]") {
  latency_histogram h({0.001});
  h.observe(10min);
  CHECK(h.bucket_counts() == std::vector<std::uint64_t>{0, 1});
  CHECK(h.sum_seconds() == 600.0);
}

TEST_CASE("a negative duration (a clock step) counts as zero", "[prometheus]") {
  latency_histogram h({0.001});
  h.observe(-5ms);
  CHECK(h.bucket_counts() == std::vector<std::uint64_t>{1, 0});
  CHECK(h.sum_seconds() == 0.0);
}

TEST_CASE("bounds given out of order are sorted", "[prometheus]") {
  latency_histogram h({1, 0.1});
  CHECK(h.bounds() == std::vector<double>{0.1, 1});
}

TEST_CASE("the default bounds run from 1 ms to 2 minutes, ascending", "[prometheus]") {
  const auto b = latency_histogram::default_bounds();
  REQUIRE(b.size() >= 10);
  CHECK(b.front() == 0.001);
  CHECK(b.back() == 120);
  CHECK(std::is_sorted(b.begin(), b.end()));
}

TEST_CASE("several labelled histograms share one HELP and TYPE", "[prometheus]") {
  latency_histogram a({1}), b({1});
  b.observe(2s);
  prometheus_text out("x_");
  out.histograms("t", "h", "route", {{"manifest", &a}, {"blob", &b}});
  CHECK(lines_starting(out.str(), "# TYPE").size() == 1);
  CHECK(lines_starting(out.str(), "x_t_count") ==
        std::vector<std::string>{"x_t_count{route=\"manifest\"} 0", "x_t_count{route=\"blob\"} 1"});
}

TEST_CASE("a labelled counter family writes one sample per label value", "[prometheus]") {
  prometheus_text out("x_");
  out.counters("fallbacks_total", "Fallbacks.", "reason", {{"seeder", 2}, {"stall", 0}});
  CHECK(out.str() ==
        "# HELP x_fallbacks_total Fallbacks.\n"
        "# TYPE x_fallbacks_total counter\n"
        "x_fallbacks_total{reason=\"seeder\"} 2\n"
        "x_fallbacks_total{reason=\"stall\"} 0\n");
}

TEST_CASE("observations from many threads are all counted", "[prometheus]") {
  latency_histogram h({0.001, 1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&h] {
      for (int i = 0; i < 10000; ++i) h.observe(2ms);
    });
  for (auto& t : threads) t.join();
  CHECK(h.bucket_counts() == std::vector<std::uint64_t>{0, 40000, 0});
  CHECK(h.sum_seconds() == Approx(80.0));
}

TEST_CASE("latency_timer observes the time it lived, and nothing without a histogram",
          "[prometheus]") {
  auto h = std::make_shared<latency_histogram>(std::vector<double>{10});
  { rookery::http::latency_timer timer(h); }
  { rookery::http::latency_timer none(nullptr); }
  CHECK(h->bucket_counts() == std::vector<std::uint64_t>{1, 0});
}

TEST_CASE("latency_timer keeps its histogram alive past the histogram's owner", "[prometheus]") {
  auto owner = std::make_shared<latency_histogram>(std::vector<double>{10});
  std::weak_ptr<latency_histogram> seen = owner;
  {
    rookery::http::latency_timer timer(owner);
    owner.reset();  // the owner goes first, as at shutdown
    CHECK_FALSE(seen.expired());
  }
  CHECK(seen.expired());
}
