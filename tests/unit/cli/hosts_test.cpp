#include "cli/hosts.hpp"

#include <catch2/catch.hpp>
#include <sstream>
#include <stdexcept>

using rookery::cli::parse_host;
using rookery::cli::parse_hosts;

TEST_CASE("parse_host keeps an http URL with a port", "[cli][hosts]") {
  const auto h = parse_host("http://127.0.0.1:5050");
  CHECK(h.name == "http://127.0.0.1:5050");
  CHECK(h.base.port == "5050");
  CHECK(h.base.target == "/");
}

TEST_CASE("parse_host drops one trailing slash", "[cli][hosts]") {
  CHECK(parse_host("http://host-a:5050/").name == "http://host-a:5050");
}

TEST_CASE("parse_host assumes http for HOST:PORT", "[cli][hosts]") {
  const auto h = parse_host("10.0.0.7:5050");
  CHECK(h.name == "http://10.0.0.7:5050");
  CHECK_FALSE(h.base.tls());
}

TEST_CASE("parse_host keeps https", "[cli][hosts]") {
  CHECK(parse_host("https://seeder.example:5060").base.tls());
}

TEST_CASE("parse_host refuses a path: it would be dropped", "[cli][hosts]") {
  CHECK_THROWS_AS(parse_host("http://host:5050/v2/"), std::invalid_argument);
}

TEST_CASE("parse_host refuses an empty name", "[cli][hosts]") {
  CHECK_THROWS_AS(parse_host(""), std::invalid_argument);
}

TEST_CASE("parse_host refuses a bad port", "[cli][hosts]") {
  CHECK_THROWS_AS(parse_host("host:99999"), std::invalid_argument);
}

TEST_CASE("parse_hosts skips comments and blank lines", "[cli][hosts]") {
  std::istringstream in("# fleet\n\nhttp://a:5050\n  b:5050   # second\r\n");
  const auto hosts = parse_hosts(in, "hosts.txt");
  REQUIRE(hosts.size() == 2);
  CHECK(hosts[0].name == "http://a:5050");
  CHECK(hosts[1].name == "http://b:5050");
}

TEST_CASE("parse_hosts names the file and line of a bad entry", "[cli][hosts]") {
  std::istringstream in("http://a:5050\nftp://b\n");
  try {
    parse_hosts(in, "hosts.txt");
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).rfind("hosts.txt:2: ", 0) == 0);
  }
}

TEST_CASE("parse_hosts refuses a file without hosts", "[cli][hosts]") {
  std::istringstream in("# nothing here\n\n");
  CHECK_THROWS_AS(parse_hosts(in, "empty"), std::invalid_argument);
}
