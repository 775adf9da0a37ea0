#include "registry-proxy/gc.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

using rookery::proxy::gc_report_json;
using rookery::proxy::parse_gc_request;

TEST_CASE("parse_gc_request takes the budget for an empty body", "[gc]") {
  std::string why;
  CHECK(parse_gc_request("", 100, why) == 100u);
  CHECK(parse_gc_request(" {} ", 100, why) == 100u);
}

TEST_CASE("parse_gc_request takes a target_bytes", "[gc]") {
  std::string why;
  CHECK(parse_gc_request(R"({"target_bytes": 0})", 100, why) == 0u);
  CHECK(parse_gc_request(R"({"target_bytes": 5000000000})", 0, why) == 5000000000u);
}

TEST_CASE("parse_gc_request needs a target when there is no budget", "[gc]") {
  std::string why;
  CHECK_FALSE(parse_gc_request("{}", 0, why));
  CHECK(why == "this proxy has no --cache-budget-mib: name a target_bytes");
}

TEST_CASE("parse_gc_request refuses bad bodies", "[gc]") {
  std::string why;
  CHECK_FALSE(parse_gc_request("{", 100, why));
  CHECK(why.find("JSON object") != std::string::npos);
  CHECK_FALSE(parse_gc_request("[1]", 100, why));
  CHECK_FALSE(parse_gc_request(R"({"target_bytes": -1})", 100, why));
  CHECK(why == "target_bytes must be a non-negative integer");
  CHECK_FALSE(parse_gc_request(R"({"target_bytes": "1"})", 100, why));
  CHECK_FALSE(parse_gc_request(R"({"target_bytes": 1.5})", 100, why));
}

TEST_CASE("gc_report_json carries every figure", "[gc]") {
  rookery::layers::blob_store::collect_report r;
  r.target_bytes = 1;
  r.freed_bytes = 2;
  r.freed_blobs = 3;
  r.kept_bytes = 4;
  r.kept_blobs = 5;
  r.in_use_bytes = 6;
  r.in_use_blobs = 7;
  const auto j = nlohmann::json::parse(gc_report_json(r));
  CHECK(j["target_bytes"] == 1);
  CHECK(j["freed_blobs"] == 3);
  CHECK(j["kept_bytes"] == 4);
  CHECK(j["in_use_bytes"] == 6);
  CHECK(j["in_use_blobs"] == 7);
}
