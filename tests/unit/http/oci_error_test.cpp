#include "http/oci_error.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "layers/error.hpp"

using rookery::errc;
using rookery::http::oci_code_for;
using rookery::http::oci_error_body;
using rookery::http::status_for;
using status = boost::beast::http::status;

namespace {

struct expected {
  errc code;
  status http;
  std::string_view oci;
};

// Every errc with the status and OCI code the distribution spec expects of it.
const expected table[] = {
    {errc::blob_unknown, status::not_found, "BLOB_UNKNOWN"},
    {errc::digest_invalid, status::bad_request, "DIGEST_INVALID"},
    {errc::manifest_unknown, status::not_found, "MANIFEST_UNKNOWN"},
    {errc::manifest_invalid, status::bad_request, "MANIFEST_INVALID"},
    {errc::name_invalid, status::bad_request, "NAME_INVALID"},
    {errc::name_unknown, status::not_found, "NAME_UNKNOWN"},
    {errc::size_invalid, status::bad_request, "SIZE_INVALID"},
    {errc::range_invalid, status::range_not_satisfiable, "UNSUPPORTED"},
    {errc::unauthorized, status::unauthorized, "UNAUTHORIZED"},
    {errc::denied, status::forbidden, "DENIED"},
    {errc::unsupported, status::method_not_allowed, "UNSUPPORTED"},
    {errc::too_many_requests, status::too_many_requests, "TOOMANYREQUESTS"},
    {errc::upstream_unavailable, status::service_unavailable, "UNAVAILABLE"},
    {errc::upstream_bad_response, status::bad_gateway, "UNAVAILABLE"},
    {errc::store_failure, status::internal_server_error, "UNKNOWN"},
    {errc::not_found, status::not_found, "NOT_FOUND"},
    {errc::too_large, status::payload_too_large, "SIZE_INVALID"},
    {errc::endpoint_unsupported, status::not_found, "UNSUPPORTED"},
};

nlohmann::json parsed(const std::string& body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  REQUIRE_FALSE(doc.is_discarded());
  return doc;
}

}  // namespace

TEST_CASE("oci_error maps every errc to its status", "[oci_error]") {
  for (const auto& e : table) {
    INFO(make_error_code(e.code).message());
    CHECK(status_for(e.code) == e.http);
  }
}

TEST_CASE("oci_error maps every errc to its OCI code", "[oci_error]") {
  for (const auto& e : table) {
    INFO(make_error_code(e.code).message());
    CHECK(oci_code_for(e.code) == e.oci);
  }
}

TEST_CASE("oci_error covers the whole errc enum", "[oci_error]") {
  // A new errc added after endpoint_unsupported must be added to the table above.
  CHECK(std::size(table) == static_cast<std::size_t>(errc::endpoint_unsupported));
}

TEST_CASE("oci_error: ok is 200 with no code", "[oci_error]") {
  CHECK(status_for(errc::ok) == status::ok);
  CHECK(oci_code_for(errc::ok).empty());
}

TEST_CASE("oci_error: a foreign category is a 500 UNKNOWN", "[oci_error]") {
  const auto ec = std::make_error_code(std::errc::no_space_on_device);
  CHECK(status_for(ec) == status::internal_server_error);
  CHECK(oci_code_for(ec) == "UNKNOWN");
}

TEST_CASE("oci_error: an out-of-enum rookery value is a 500 UNKNOWN", "[oci_error]") {
  const std::error_code ec(9999, rookery::rookery_category());
  CHECK(status_for(ec) == status::internal_server_error);
  CHECK(oci_code_for(ec) == "UNKNOWN");
}

TEST_CASE("oci_error body has one error with code and message", "[oci_error]") {
  const auto doc = parsed(oci_error_body(errc::blob_unknown));
  REQUIRE(doc.is_object());
  REQUIRE(doc.size() == 1);
  REQUIRE(doc["errors"].is_array());
  REQUIRE(doc["errors"].size() == 1);
  const auto& e = doc["errors"][0];
  CHECK(e["code"] == "BLOB_UNKNOWN");
  CHECK(e["message"] == make_error_code(errc::blob_unknown).message());
}

TEST_CASE("oci_error body omits an empty detail", "[oci_error]") {
  const auto doc = parsed(oci_error_body(errc::denied));
  CHECK_FALSE(doc["errors"][0].contains("detail"));
}

TEST_CASE("oci_error body carries a detail", "[oci_error]") {
  const auto doc = parsed(oci_error_body(errc::name_invalid, "bad name"));
  CHECK(doc["errors"][0]["detail"] == "bad name");
  CHECK(doc["errors"][0]["code"] == "NAME_INVALID");
}

TEST_CASE("oci_error body escapes quotes in the detail", "[oci_error]") {
  const auto doc = parsed(oci_error_body(errc::digest_invalid, "a \"quoted\"\n detail"));
  CHECK(doc["errors"][0]["detail"] == "a \"quoted\"\n detail");
}

TEST_CASE("oci_error body survives invalid UTF-8 in the detail", "[oci_error]") {
  std::string body;
  REQUIRE_NOTHROW(body = oci_error_body(errc::digest_invalid, "bad \xff byte"));
  const auto doc = parsed(body);
  const auto detail = doc["errors"][0]["detail"].get<std::string>();
  CHECK(detail.find("bad ") == 0);
  CHECK(detail.find("byte") != std::string::npos);
  CHECK(detail.find('\xff') == std::string::npos);
}

TEST_CASE("oci_error body for a foreign error is UNKNOWN with its message", "[oci_error]") {
  const auto ec = std::make_error_code(std::errc::permission_denied);
  const auto doc = parsed(oci_error_body(ec));
  CHECK(doc["errors"][0]["code"] == "UNKNOWN");
  CHECK(doc["errors"][0]["message"] == ec.message());
}

TEST_CASE("oci_error body is compact JSON", "[oci_error]") {
  CHECK(oci_error_body(errc::not_found) ==
        R"({"errors":[{"code":"NOT_FOUND","message":"not found"}]})");
}
