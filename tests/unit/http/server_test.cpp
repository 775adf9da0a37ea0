#include "http/server.hpp"

#include <catch2/catch.hpp>

using boost::asio::ip::make_address;
using rookery::http::parse_endpoint;

TEST_CASE("parse_endpoint reads IPv4 ADDRESS:PORT", "[endpoint]") {
  auto e = parse_endpoint("127.0.0.1:5000");
  REQUIRE(e);
  CHECK(e->address() == make_address("127.0.0.1"));
  CHECK(e->port() == 5000);
}

TEST_CASE("parse_endpoint reads the any address", "[endpoint]") {
  auto e = parse_endpoint("0.0.0.0:80");
  REQUIRE(e);
  CHECK(e->address().is_unspecified());
  CHECK(e->port() == 80);
}

TEST_CASE("parse_endpoint accepts port 0 (pick one)", "[endpoint]") {
  auto e = parse_endpoint("127.0.0.1:0");
  REQUIRE(e);
  CHECK(e->port() == 0);
}

TEST_CASE("parse_endpoint accepts port 65535", "[endpoint]") {
  auto e = parse_endpoint("127.0.0.1:65535");
  REQUIRE(e);
  CHECK(e->port() == 65535);
}

TEST_CASE("parse_endpoint reads a bracketed IPv6 address", "[endpoint]") {
  auto e = parse_endpoint("[::1]:8080");
  REQUIRE(e);
  CHECK(e->address().is_v6());
  CHECK(e->address() == make_address("::1"));
  CHECK(e->port() == 8080);
}

TEST_CASE("parse_endpoint reads the IPv6 any address", "[endpoint]") {
  auto e = parse_endpoint("[::]:443");
  REQUIRE(e);
  CHECK(e->address().is_v6());
  CHECK(e->address().is_unspecified());
}

TEST_CASE("parse_endpoint rejects a port above 65535", "[endpoint]") {
  CHECK_FALSE(parse_endpoint("127.0.0.1:65536"));
}

TEST_CASE("parse_endpoint rejects a port that overflows", "[endpoint]") {
  CHECK_FALSE(parse_endpoint("127.0.0.1:99999999999"));
}

TEST_CASE("parse_endpoint rejects a negative port", "[endpoint]") {
  CHECK_FALSE(parse_endpoint("127.0.0.1:-1"));
}

TEST_CASE("parse_endpoint rejects an empty port", "[endpoint]") {
  CHECK_FALSE(parse_endpoint("127.0.0.1:"));
}

TEST_CASE("parse_endpoint rejects a non-numeric port", "[endpoint]") {
  CHECK_FALSE(parse_endpoint("127.0.0.1:http"));
}

TEST_CASE("parse_endpoint rejects trailing junk after the port", "[endpoint]") {
  CHECK_FALSE(parse_endpoint("127.0.0.1:80x"));
}

TEST_CASE("parse_endpoint rejects a missing port", "[endpoint]") {
  CHECK_FALSE(parse_endpoint("127.0.0.1"));
}

TEST_CASE("parse_endpoint rejects a bracketed IPv6 address without a port", "[endpoint]") {
  CHECK_FALSE(parse_endpoint("[::1]"));
}

TEST_CASE("parse_endpoint rejects a missing address", "[endpoint]") {
  CHECK_FALSE(parse_endpoint(":80"));
}

TEST_CASE("parse_endpoint rejects a host name", "[endpoint]") {
  CHECK_FALSE(parse_endpoint("localhost:80"));
}

TEST_CASE("parse_endpoint rejects an out-of-range IPv4 octet", "[endpoint]") {
  CHECK_FALSE(parse_endpoint("256.0.0.1:80"));
}

TEST_CASE("parse_endpoint tolerates an IPv4 address in brackets", "[endpoint]") {
  auto e = parse_endpoint("[127.0.0.1]:80");
  REQUIRE(e);
  CHECK(e->address().is_v4());
}

TEST_CASE("parse_endpoint rejects the empty string", "[endpoint]") {
  CHECK_FALSE(parse_endpoint(""));
}
