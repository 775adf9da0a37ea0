#include "cli/gc.hpp"

#include <catch2/catch.hpp>

using rookery::cli::describe_gc;
using rookery::cli::gc_request_body;

TEST_CASE("gc_request_body names the target in bytes, or none", "[gc]") {
  CHECK(gc_request_body(std::nullopt) == "{}");
  CHECK(gc_request_body(std::uint64_t{3}) == R"({"target_bytes":3145728})");
}

TEST_CASE("describe_gc says what a proxy freed, kept and passed over", "[gc]") {
  const nlohmann::json report = {{"target_bytes", 16777216}, {"freed_bytes", 20971520},
                                 {"freed_blobs", 5},         {"kept_bytes", 16777216},
                                 {"kept_blobs", 2},          {"in_use_bytes", 12582912},
                                 {"in_use_blobs", 1}};
  CHECK(describe_gc("http://h:5050", report) ==
        "http://h:5050: freed 20.0 MiB (5 blobs), kept 16.0 MiB (2 blobs), in use 12.0 MiB (1 "
        "blobs); target 16.0 MiB");
}

TEST_CASE("describe_gc is empty for an answer without its figures", "[gc]") {
  CHECK(describe_gc("h", nlohmann::json{{"freed_bytes", 1}}).empty());
  CHECK(describe_gc("h", nlohmann::json{{"freed_bytes", -1}}).empty());
}
