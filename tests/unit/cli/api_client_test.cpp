#include "cli/api_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <vector>

#include "http/responses.hpp"
#include "http/server.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace rookery;
using cli::take_lines;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

std::vector<std::string> lines_of(std::string& buffer) {
  std::vector<std::string> out;
  take_lines(buffer, [&](std::string_view line) { out.emplace_back(line); });
  return out;
}

// A real server on loopback: /lines answers three JSON lines in chunks, /echo echoes a POST body.
asio::awaitable<void> handler(http::exchange& ex) {
  if (ex.req().target() == "/echo") {
    std::string body = ex.req().body() + "|" + std::string(ex.req()[bhttp::field::content_type]);
    co_return co_await http::send_text(ex, std::move(body), "text/plain");
  }
  http::response_header header;
  header.result(bhttp::status::ok);
  co_await ex.send_chunked_header(std::move(header));
  co_await ex.write_chunk("{\"n\":1}\n{\"n\"");
  co_await ex.write_chunk(":2}\n");
  co_await ex.write_chunk("{\"n\":3}\n");
  co_await ex.end_chunks();
}

struct loopback {
  asio::io_context io;
  http::server server{io, *http::parse_endpoint("127.0.0.1:0"), handler};
  cli::api_client client{io, http::client_options{}};
  cli::host to;
  loopback() {
    server.start();
    to = cli::parse_host("127.0.0.1:" + std::to_string(server.local_endpoint().port()));
  }
  template <class Body>
  void run(Body body) {
    asio::co_spawn(io, body(), [this](std::exception_ptr) { io.stop(); });
    io.run_for(std::chrono::seconds(10));
  }
};

}  // namespace

TEST_CASE("take_lines hands over complete lines and keeps the tail", "[cli][api]") {
  std::string buffer = "one\ntwo\r\nthr";
  CHECK(lines_of(buffer) == std::vector<std::string>{"one", "two"});
  CHECK(buffer == "thr");
}

TEST_CASE("take_lines skips empty lines", "[cli][api]") {
  std::string buffer = "\n\na\n";
  CHECK(lines_of(buffer) == std::vector<std::string>{"a"});
  CHECK(buffer.empty());
}

TEST_CASE("describe_failure reads an OCI error body", "[cli][api]") {
  const auto text = cli::describe_failure(
      401,
      R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":"token"}]})");
  CHECK(text == "HTTP 401 UNAUTHORIZED: authentication required (token)");
}

TEST_CASE("describe_failure of a body that is not OCI JSON is the status", "[cli][api]") {
  CHECK(cli::describe_failure(502, "<html>bad gateway</html>") == "HTTP 502");
}

TEST_CASE("bearer_from reads the first line of a file", "[cli][api]") {
  const rookery::test::temp_dir dir("token");
  const std::string path = dir.path / "token";
  std::ofstream(path) << "s3cret\nignored\n";
  CHECK(cli::bearer_from(path, "ROOKERY_CLI_TEST_UNSET") == "Bearer s3cret");
}

TEST_CASE("bearer_from falls back to the environment", "[cli][api]") {
  ::setenv("ROOKERY_CLI_TEST_TOKEN", "from-env", 1);
  CHECK(cli::bearer_from("", "ROOKERY_CLI_TEST_TOKEN") == "Bearer from-env");
  ::unsetenv("ROOKERY_CLI_TEST_TOKEN");
  CHECK(cli::bearer_from("", "ROOKERY_CLI_TEST_TOKEN").empty());
}

TEST_CASE("bearer_from refuses an unreadable file", "[cli][api]") {
  CHECK_THROWS_AS(cli::bearer_from("/nonexistent/token", "X"), std::invalid_argument);
}

TEST_CASE("follow_lines reads a chunked body line by line", "[cli][api]") {
  loopback lo;
  std::vector<std::string> lines;
  std::string error = "not run";
  lo.run([&]() -> asio::awaitable<void> {
    const std::string target = "/lines", authorization;
    const std::function<void(std::string_view)> each = [&](std::string_view l) {
      lines.emplace_back(l);
    };
    error = co_await lo.client.follow_lines(lo.to, target, authorization, each);
  });
  CHECK(error.empty());
  CHECK(lines == std::vector<std::string>{"{\"n\":1}", "{\"n\":2}", "{\"n\":3}"});
}

TEST_CASE("call sends a JSON body with its type", "[cli][api]") {
  loopback lo;
  cli::reply answer;
  lo.run([&]() -> asio::awaitable<void> {
    const std::string target = "/echo", body = "{\"a\":1}", authorization;
    answer = co_await lo.client.call(lo.to, bhttp::verb::post, target, body, authorization);
  });
  CHECK(answer.ok());
  CHECK(answer.body == "{\"a\":1}|application/json");
}

TEST_CASE("call reports a host that does not answer", "[cli][api]") {
  asio::io_context io;
  cli::api_client client(io, http::client_options{});
  cli::reply answer;
  // Port 1 on loopback: nothing listens there (connection refused at once).
  const auto to = cli::parse_host("127.0.0.1:1");
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        const std::string target = "/", none;
        answer = co_await client.call(to, bhttp::verb::get, target, none, none);
      },
      asio::detached);
  io.run_for(std::chrono::seconds(10));
  CHECK_FALSE(answer.ok());
  CHECK(answer.error.rfind("no answer from http://127.0.0.1:1", 0) == 0);
}
