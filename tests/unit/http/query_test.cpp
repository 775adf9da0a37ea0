#include "http/query.hpp"

#include <catch2/catch.hpp>

using rookery::http::percent_decode;
using rookery::http::query_value;

// ---- percent_decode ---------------------------------------------------------

TEST_CASE("percent_decode leaves plain text alone", "[query]") {
  CHECK(percent_decode("library/alpine") == std::string("library/alpine"));
}

TEST_CASE("percent_decode of nothing is empty", "[query]") {
  auto out = percent_decode("");
  REQUIRE(out);
  CHECK(out->empty());
}

TEST_CASE("percent_decode decodes an escaped colon", "[query]") {
  CHECK(percent_decode("127.0.0.1%3A5000") == std::string("127.0.0.1:5000"));
}

TEST_CASE("percent_decode accepts lower-case hex", "[query]") {
  CHECK(percent_decode("a%2fb") == std::string("a/b"));
}

TEST_CASE("percent_decode accepts upper-case hex", "[query]") {
  CHECK(percent_decode("a%2Fb") == std::string("a/b"));
}

TEST_CASE("percent_decode turns + into a space", "[query]") {
  CHECK(percent_decode("a+b+c") == std::string("a b c"));
}

TEST_CASE("percent_decode keeps an escaped + as a plus", "[query]") {
  CHECK(percent_decode("a%2Bb") == std::string("a+b"));
}

TEST_CASE("percent_decode of %25 is a literal percent, not decoded twice", "[query]") {
  CHECK(percent_decode("%2541") == std::string("%41"));
}

TEST_CASE("percent_decode yields binary bytes", "[query]") {
  auto out = percent_decode("%00%ff%80");
  REQUIRE(out);
  CHECK(*out == std::string("\x00\xff\x80", 3));
}

TEST_CASE("percent_decode escapes at both ends", "[query]") {
  CHECK(percent_decode("%41bc%44") == std::string("AbcD"));
}

TEST_CASE("percent_decode rejects a trailing lone percent", "[query]") {
  CHECK_FALSE(percent_decode("abc%"));
}

TEST_CASE("percent_decode rejects a truncated escape", "[query]") {
  CHECK_FALSE(percent_decode("abc%4"));
}

TEST_CASE("percent_decode rejects non-hex digits", "[query]") {
  CHECK_FALSE(percent_decode("%zz"));
}

TEST_CASE("percent_decode rejects a half-hex escape", "[query]") {
  CHECK_FALSE(percent_decode("%4g"));
  CHECK_FALSE(percent_decode("%g4"));
}

TEST_CASE("percent_decode rejects a lone percent", "[query]") {
  CHECK_FALSE(percent_decode("%"));
}

TEST_CASE("percent_decode rejects a malformed escape after good ones", "[query]") {
  CHECK_FALSE(percent_decode("%41%4"));
}

// ---- query_value ------------------------------------------------------------

TEST_CASE("query_value finds a key in a request target", "[query]") {
  CHECK(query_value("/v2/a/manifests/1?ns=docker.io", "ns") == std::string_view("docker.io"));
}

TEST_CASE("query_value finds a key in a bare query string", "[query]") {
  CHECK(query_value("ns=docker.io&x=1", "x") == std::string_view("1"));
}

TEST_CASE("query_value returns the value still encoded", "[query]") {
  CHECK(query_value("/v2/?ns=127.0.0.1%3A5000", "ns") == std::string_view("127.0.0.1%3A5000"));
}

TEST_CASE("query_value finds a key in the middle", "[query]") {
  CHECK(query_value("a=1&b=2&c=3", "b") == std::string_view("2"));
}

TEST_CASE("query_value finds the last key", "[query]") {
  CHECK(query_value("a=1&b=2&c=3", "c") == std::string_view("3"));
}

TEST_CASE("query_value is absent for a missing key", "[query]") {
  CHECK_FALSE(query_value("/v2/?a=1&b=2", "ns"));
}

TEST_CASE("query_value is absent for a target without a query", "[query]") {
  CHECK_FALSE(query_value("/v2/library/alpine/manifests/3", "ns"));
}

TEST_CASE("query_value is absent in an empty query", "[query]") {
  CHECK_FALSE(query_value("/v2/?", "ns"));
  CHECK_FALSE(query_value("", "ns"));
}

TEST_CASE("query_value gives the first of repeated keys", "[query]") {
  CHECK(query_value("ns=one&ns=two", "ns") == std::string_view("one"));
}

TEST_CASE("query_value gives an empty value as present and empty", "[query]") {
  auto v = query_value("/v2/?ns=&x=1", "ns");
  REQUIRE(v);
  CHECK(v->empty());
}

TEST_CASE("query_value ignores a key without '='", "[query]") {
  CHECK_FALSE(query_value("ns&x=1", "ns"));
}

TEST_CASE("query_value skips a flag key and finds a later pair", "[query]") {
  CHECK(query_value("ns&ns=b", "ns") == std::string_view("b"));
}

TEST_CASE("query_value does not match a key that only ends with the name", "[query]") {
  CHECK_FALSE(query_value("xns=1", "ns"));
}

TEST_CASE("query_value does not match a key that only starts with the name", "[query]") {
  CHECK_FALSE(query_value("nsx=1", "ns"));
}

TEST_CASE("query_value does not match a key's name in a value", "[query]") {
  CHECK_FALSE(query_value("a=ns=1", "ns"));
}

TEST_CASE("query_value keeps '=' inside a value", "[query]") {
  CHECK(query_value("t=a=b&c=d", "t") == std::string_view("a=b"));
}

TEST_CASE("query_value tolerates empty pairs between ampersands", "[query]") {
  CHECK(query_value("&&a=1&&b=2&", "b") == std::string_view("2"));
}

TEST_CASE("query_value is case-sensitive on keys", "[query]") {
  CHECK_FALSE(query_value("NS=docker.io", "ns"));
}

// ---- percent_encode ---------------------------------------------------------

TEST_CASE("percent_encode keeps unreserved characters and escapes the rest", "[query]") {
  CHECK(rookery::http::percent_encode("aZ09-_.~") == "aZ09-_.~");
  CHECK(rookery::http::percent_encode("repository:demo/app:pull,push") ==
        "repository%3Ademo%2Fapp%3Apull%2Cpush");
  CHECK(rookery::http::percent_encode("\xff ") == "%FF%20");
}
