#include "http/prometheus.hpp"

#include <catch2/catch.hpp>

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
