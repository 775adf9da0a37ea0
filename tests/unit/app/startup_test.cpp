#include "app/startup.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <string>

using namespace rookery;

TEST_CASE("startup: listen endpoints, v4 and v6", "[startup]") {
  CHECK(app::listen_endpoint("127.0.0.1:5050", "--listen").port() == 5050);
  CHECK(app::listen_endpoint("[::1]:6000", "--listen").address().is_v6());
  CHECK_THROWS_AS(app::listen_endpoint("localhost", "--listen"), app::bad_flag);
  CHECK_THROWS_WITH(app::listen_endpoint("1.2.3.4:99999", "--listen"), Catch::Contains("--listen"));
}

TEST_CASE("startup: an upstream with and without a name", "[startup]") {
  const auto plain = app::upstream_spec("https://registry.example", "--upstream");
  CHECK(plain.name.empty());
  CHECK(plain.base.host == "registry.example");
  const auto named = app::upstream_spec("docker.io=https://registry-1.docker.io", "--upstream");
  CHECK(named.name == "docker.io");
  CHECK(named.base.port == "443");
  CHECK(app::upstream_spec("default=http://r:5000", "--upstream").name.empty());
  // A '=' inside the URL is not a name.
  CHECK(app::upstream_spec("http://r:5000", "--upstream").name.empty());
  CHECK_THROWS_AS(app::upstream_spec("ftp://r", "--upstream"), app::bad_flag);
  CHECK_THROWS_AS(app::upstream_spec("http://r/path", "--upstream"), app::bad_flag);
}

TEST_CASE("startup: credentials are USER:PASSWORD, the password may hold colons", "[startup]") {
  pull::upstream_config c;
  app::set_credentials(c, "alice:s3:cret", "--x");
  CHECK(c.username == "alice");
  CHECK(c.password == "s3:cret");
  CHECK_THROWS_AS(app::set_credentials(c, "alice", "--x"), app::bad_flag);
  CHECK_THROWS_AS(app::set_credentials(c, ":pw", "--x"), app::bad_flag);
}

TEST_CASE("startup: comma-separated names keep empty ones", "[startup]") {
  CHECK(app::split_names("") == std::vector<std::string>{""});
  CHECK(app::split_names("a,b") == std::vector<std::string>{"a", "b"});
  CHECK(app::split_names("default,127.0.0.1:5000") ==
        std::vector<std::string>{"default", "127.0.0.1:5000"});
}

TEST_CASE("startup: guarded turns an exception into exit status 2", "[startup]") {
  CHECK(app::guarded("test", [] { return 0; }) == 0);
  CHECK(app::guarded("test", []() -> int { throw std::runtime_error("boom"); }) == 2);
}

TEST_CASE("startup: a fatal signal leaves its number and a backtrace on stderr", "[startup]") {
  int out[2];
  REQUIRE(pipe(out) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    dup2(out[1], STDERR_FILENO);
    app::report_fatal_signals();
    std::raise(SIGBUS);
    _exit(0);  // not reached: the handler re-raises with the default action
  }
  close(out[1]);
  std::string text;
  char chunk[4096];
  for (ssize_t n; (n = read(out[0], chunk, sizeof chunk)) > 0;) text.append(chunk, n);
  close(out[0]);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGBUS);
  CHECK_THAT(text, Catch::StartsWith("rookery: fatal signal 07\n"));
  CHECK_THAT(text, Catch::Contains("unit_tests("));  // at least one frame of this binary
}
