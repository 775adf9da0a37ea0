#include "pull/auth_file.hpp"

#include <catch2/catch.hpp>

using rookery::pull::auth_file;
using rookery::pull::auth_file_error;
using rookery::pull::decode_base64;
using rookery::pull::registry_authority_of;

namespace {

// The message of the auth_file_error that parsing `text` throws ("" when it does not throw).
std::string error_of(const std::string& text) {
  try {
    auth_file::parse(text, "test.json");
  } catch (const auth_file_error& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("auth_file reads a login per registry host", "[auth_file]") {
  // YWxpY2U6czNjcmV0 = alice:s3cret
  const auto file = auth_file::parse(
      R"({"auths": {"127.0.0.1:5000": {"auth": "YWxpY2U6czNjcmV0"}}})", "test.json");
  const auto login = file.find("127.0.0.1:5000");
  REQUIRE(login);
  CHECK(login->username == "alice");
  CHECK(login->password == "s3cret");
  CHECK(file.size() == 1);
}

TEST_CASE("auth_file keys written as URLs name their host", "[auth_file]") {
  const auto file = auth_file::parse(
      R"({"auths": {"https://Registry.Example:5000/v1/": {"auth": "Ym9iOnB3"}}})", "test.json");
  const auto login = file.find("registry.example:5000");
  REQUIRE(login);
  CHECK(login->username == "bob");
}

TEST_CASE("auth_file has no login for a host it does not name", "[auth_file]") {
  const auto file = auth_file::parse(R"({"auths": {"a.example": {"auth": "Ym9iOnB3"}}})", "t");
  CHECK_FALSE(file.find("b.example"));
  CHECK_FALSE(file.find("a.example:5000"));
}

TEST_CASE("auth_file keeps a password that holds colons", "[auth_file]") {
  // bob:p:w:d
  const auto file = auth_file::parse(R"({"auths": {"h": {"auth": "Ym9iOnA6dzpk"}}})", "t");
  CHECK(file.find("h")->password == "p:w:d");
}

TEST_CASE("auth_file refuses text that is not JSON without quoting it", "[auth_file]") {
  const auto why = error_of(R"({"auths": {"h": {"auth": "c2VjcmV0OnNlY3JldA==" )");
  CHECK(why == "auth file test.json is not valid JSON");
}

TEST_CASE("auth_file refuses a file without an auths object", "[auth_file]") {
  CHECK(error_of(R"({"credsStore": "desktop"})") == "auth file test.json has no \"auths\" object");
  CHECK(error_of(R"({"auths": []})") == "auth file test.json has no \"auths\" object");
  CHECK(error_of("[]") == "auth file test.json has no \"auths\" object");
}

TEST_CASE("auth_file refuses an entry that names no host", "[auth_file]") {
  CHECK(error_of(R"({"auths": {"": {"auth": "Ym9iOnB3"}}})") ==
        "auth file test.json: an entry names no registry host");
  CHECK(error_of(R"({"auths": {"https:///v1/": {"auth": "Ym9iOnB3"}}})") ==
        "auth file test.json: an entry names no registry host");
}

TEST_CASE("auth_file refuses an auth that is not base64, without showing it", "[auth_file]") {
  const auto why = error_of(R"({"auths": {"h:1": {"auth": "s3cret!!"}}})");
  CHECK(why == "auth file test.json, registry h:1: \"auth\" is not base64");
  CHECK(why.find("s3cret") == std::string::npos);
}

TEST_CASE("auth_file refuses base64 that is not USER:PASSWORD", "[auth_file]") {
  // "nocolon", ":pw"
  CHECK(error_of(R"({"auths": {"h": {"auth": "bm9jb2xvbg=="}}})") ==
        "auth file test.json, registry h: \"auth\" is not base64 of USER:PASSWORD");
  CHECK(error_of(R"({"auths": {"h": {"auth": "OnB3"}}})") ==
        "auth file test.json, registry h: \"auth\" is not base64 of USER:PASSWORD");
}

TEST_CASE("auth_file refuses an auth that is not a string", "[auth_file]") {
  CHECK(error_of(R"({"auths": {"h": {"auth": 42}}})") ==
        "auth file test.json, registry h: \"auth\" is not a string");
  CHECK(error_of(R"({"auths": {"h": "Ym9iOnB3"}})") ==
        "auth file test.json, registry h: the entry is not an object");
}

TEST_CASE("auth_file skips entries without auth (credential helpers)", "[auth_file]") {
  const auto file =
      auth_file::parse(R"({"auths": {"helped": {}, "h": {"auth": "Ym9iOnB3"}}})", "t");
  CHECK(file.size() == 1);
  REQUIRE(file.skipped().size() == 1);
  CHECK(file.skipped()[0] == "helped");
  CHECK_FALSE(file.find("helped"));
}

TEST_CASE("auth_file load names a file it cannot read", "[auth_file]") {
  CHECK_THROWS_WITH(auth_file::load("/nonexistent/auth.json"),
                    "auth file /nonexistent/auth.json cannot be read");
}

TEST_CASE("decode_base64 decodes padded base64 and refuses the rest", "[auth_file]") {
  CHECK(decode_base64("Ym9iOnB3") == "bob:pw");
  CHECK(decode_base64("YQ==") == "a");
  CHECK(decode_base64("YWI=") == "ab");
  CHECK(decode_base64("") == "");
  CHECK_FALSE(decode_base64("YQ"));     // unpadded
  CHECK_FALSE(decode_base64("Y=Q="));   // padding inside
  CHECK_FALSE(decode_base64("YQ==="));  // not a multiple of four
  CHECK_FALSE(decode_base64("Y Q=="));  // a blank
}

TEST_CASE("registry_authority_of drops scheme and path", "[auth_file]") {
  CHECK(registry_authority_of("https://r.example/v1/") == "r.example");
  CHECK(registry_authority_of("R.example:5000") == "r.example:5000");
  CHECK(registry_authority_of("http://127.0.0.1:5000") == "127.0.0.1:5000");
}
