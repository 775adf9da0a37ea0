#include "http/server.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <random>

#include "http/client.hpp"
#include "tests/unit/temp_dir.hpp"

using boost::asio::ip::make_address;
using rookery::http::parse_endpoint;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace http = rookery::http;

namespace {

// GET of `file` bytes [from, from + count) through a real server on loopback, copying to the
// local client or with sendfile(2) as `copy` says.
std::string served(const std::filesystem::path& file, std::uint64_t from, std::uint64_t count,
                   bool copy) {
  asio::io_context io;
  const int fd = ::open(file.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  http::server_options opts;
  opts.copy_to_local = copy;
  http::server server{io, *parse_endpoint("127.0.0.1:0"),
                      [&](http::exchange& ex) -> asio::awaitable<void> {
                        http::response_header header;
                        header.result(bhttp::status::ok);
                        header.set(bhttp::field::content_length, std::to_string(count));
                        if (!co_await ex.send_header(std::move(header)))
                          co_await ex.send_file(fd, from, count);
                      },
                      opts};
  server.start();
  std::string body;
  auto tls = http::make_client_tls_context();
  auto where = http::url::parse(
      "http://127.0.0.1:" + std::to_string(server.local_endpoint().port()) + "/blob");
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        std::error_code ec;
        auto res = co_await http::send_request(io.get_executor(), tls, bhttp::verb::get, *where, {},
                                               http::client_options{}, ec);
        if (res) co_await res->read_body(body, 64 * 1024 * 1024);
      },
      [&](std::exception_ptr) { io.stop(); });
  io.run_for(std::chrono::seconds(20));
  ::close(fd);
  return body;
}

}  // namespace

TEST_CASE("send_file sends the bytes asked for, copied or with sendfile", "[server]") {
  // Bigger than a socket buffer, so both ways wait for the client to drain it.
  rookery::test::temp_dir dir;
  std::string bytes(5 * 1024 * 1024 + 123, '\0');
  std::mt19937 random(7);
  for (auto& c : bytes) c = static_cast<char>(random());
  const auto file = dir.path / "blob";
  std::ofstream(file, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  for (const bool copy : {true, false}) {
    INFO("copy " << copy);
    CHECK(served(file, 0, bytes.size(), copy) == bytes);
    CHECK(served(file, 1000, 3 * 1024 * 1024, copy) == bytes.substr(1000, 3 * 1024 * 1024));
  }
}

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
