#include "http/client.hpp"

#include <catch2/catch.hpp>

using rookery::http::url;

// ---- url::parse -------------------------------------------------------------

TEST_CASE("url parses http with the default port", "[url]") {
  auto u = url::parse("http://registry.local/v2/");
  REQUIRE(u);
  CHECK(u->scheme == "http");
  CHECK(u->host == "registry.local");
  CHECK(u->port == "80");
  CHECK(u->target == "/v2/");
  CHECK_FALSE(u->tls());
}

TEST_CASE("url parses https with the default port", "[url]") {
  auto u = url::parse("https://auth.docker.io/token");
  REQUIRE(u);
  CHECK(u->scheme == "https");
  CHECK(u->port == "443");
  CHECK(u->tls());
}

TEST_CASE("url keeps an explicit port", "[url]") {
  auto u = url::parse("http://127.0.0.1:5000/v2/");
  REQUIRE(u);
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == "5000");
}

TEST_CASE("url without a path targets /", "[url]") {
  auto u = url::parse("http://example.com");
  REQUIRE(u);
  CHECK(u->target == "/");
}

TEST_CASE("url with a port and no path targets /", "[url]") {
  auto u = url::parse("https://example.com:8443");
  REQUIRE(u);
  CHECK(u->port == "8443");
  CHECK(u->target == "/");
}

TEST_CASE("url with a query but no path gets a / before it", "[url]") {
  auto u = url::parse("https://auth.example.com?service=registry");
  REQUIRE(u);
  CHECK(u->host == "auth.example.com");
  CHECK(u->target == "/?service=registry");
}

TEST_CASE("url keeps the query in the target", "[url]") {
  auto u = url::parse("https://auth.example.com/token?service=r&scope=repository:a/b:pull");
  REQUIRE(u);
  CHECK(u->target == "/token?service=r&scope=repository:a/b:pull");
}

TEST_CASE("url accepts the highest port", "[url]") {
  auto u = url::parse("http://h:65535/");
  REQUIRE(u);
  CHECK(u->port == "65535");
}

TEST_CASE("url rejects port 0", "[url]") {
  CHECK_FALSE(url::parse("http://h:0/"));
}

TEST_CASE("url rejects a port above 65535", "[url]") {
  CHECK_FALSE(url::parse("http://h:65536/"));
}

TEST_CASE("url rejects a port that overflows", "[url]") {
  CHECK_FALSE(url::parse("http://h:99999999999999999999/"));
}

TEST_CASE("url rejects a non-numeric port", "[url]") {
  CHECK_FALSE(url::parse("http://h:http/"));
}

TEST_CASE("url rejects a negative port", "[url]") {
  CHECK_FALSE(url::parse("http://h:-1/"));
}

TEST_CASE("url parses a bracketed IPv6 literal with a port", "[url]") {
  auto u = url::parse("http://[::1]:5000/v2/");
  REQUIRE(u);
  CHECK(u->host == "::1");
  CHECK(u->port == "5000");
  CHECK(u->target == "/v2/");
}

TEST_CASE("url parses a bracketed IPv6 literal without a port", "[url]") {
  auto u = url::parse("https://[2001:db8::7]/");
  REQUIRE(u);
  CHECK(u->host == "2001:db8::7");
  CHECK(u->port == "443");
}

TEST_CASE("url rejects an unclosed IPv6 bracket", "[url]") {
  CHECK_FALSE(url::parse("http://[::1/"));
}

TEST_CASE("url rejects junk after an IPv6 bracket", "[url]") {
  CHECK_FALSE(url::parse("http://[::1]x/"));
}

TEST_CASE("url rejects empty IPv6 brackets", "[url]") {
  CHECK_FALSE(url::parse("http://[]/"));
}

TEST_CASE("url rejects a missing scheme", "[url]") {
  CHECK_FALSE(url::parse("registry.local:5000/v2/"));
}

TEST_CASE("url rejects a scheme-relative URL", "[url]") {
  CHECK_FALSE(url::parse("//registry.local/v2/"));
}

TEST_CASE("url rejects other schemes", "[url]") {
  CHECK_FALSE(url::parse("ftp://example.com/"));
  CHECK_FALSE(url::parse("file:///etc/passwd"));
}

TEST_CASE("url rejects an empty host", "[url]") {
  CHECK_FALSE(url::parse("http:///v2/"));
  CHECK_FALSE(url::parse("http://"));
}

TEST_CASE("url rejects a port without a host", "[url]") {
  CHECK_FALSE(url::parse("http://:5000/"));
}

TEST_CASE("url rejects user info", "[url]") {
  CHECK_FALSE(url::parse("http://user:pass@example.com/"));
}

TEST_CASE("url rejects the empty string", "[url]") {
  CHECK_FALSE(url::parse(""));
}

// ---- url::authority / str / resolve -------------------------------------------

TEST_CASE("url authority omits the default http port", "[url]") {
  CHECK(url::parse("http://h:80/")->authority() == "h");
}

TEST_CASE("url authority omits the default https port", "[url]") {
  CHECK(url::parse("https://h:443/")->authority() == "h");
}

TEST_CASE("url authority keeps a non-default port", "[url]") {
  CHECK(url::parse("https://h:80/")->authority() == "h:80");
}

TEST_CASE("url authority brackets an IPv6 host", "[url]") {
  CHECK(url::parse("http://[::1]:5000/")->authority() == "[::1]:5000");
}

TEST_CASE("url str round-trips", "[url]") {
  CHECK(url::parse("http://h:5000/v2/x?y=1")->str() == "http://h:5000/v2/x?y=1");
}

TEST_CASE("url resolves an absolute path against itself", "[url]") {
  auto base = url::parse("http://h:5000/v2/a/blobs/x");
  auto r = base->resolve("/storage/abc?sig=1");
  REQUIRE(r);
  CHECK(r->str() == "http://h:5000/storage/abc?sig=1");
}

TEST_CASE("url resolves an absolute URL to that URL", "[url]") {
  auto base = url::parse("http://h:5000/v2/");
  auto r = base->resolve("https://s3.example.com/bucket/obj");
  REQUIRE(r);
  CHECK(r->host == "s3.example.com");
  CHECK(r->tls());
}

TEST_CASE("url refuses a scheme-relative redirect", "[url]") {
  CHECK_FALSE(url::parse("http://h/")->resolve("//evil.example.com/x"));
}

TEST_CASE("url refuses a relative-path redirect", "[url]") {
  CHECK_FALSE(url::parse("http://h/a/b")->resolve("c"));
}

TEST_CASE("url refuses an empty redirect", "[url]") {
  CHECK_FALSE(url::parse("http://h/")->resolve(""));
}

TEST_CASE("url rejects an IPv6 address without brackets", "[url]") {
  CHECK_FALSE(url::parse("http://::1/x"));
}

TEST_CASE("url rejects an empty port", "[url]") {
  CHECK_FALSE(url::parse("http://host:/x"));
}
