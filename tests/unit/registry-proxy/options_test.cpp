#include "registry-proxy/options.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "tests/unit/temp_dir.hpp"

using rookery::proxy::parse_options;
using rookery::proxy::proxy_config;

namespace {
std::variant<proxy_config, int> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "rookery-proxy");
  return parse_options(static_cast<int>(args.size()), args.data());
}
}  // namespace

TEST_CASE("proxy options: defaults with one upstream", "[options]") {
  auto parsed = parse({"--upstream", "http://127.0.0.1:5000"});
  REQUIRE(std::holds_alternative<proxy_config>(parsed));
  const auto& c = std::get<proxy_config>(parsed);
  CHECK(c.listen.port() == 5050);
  CHECK(c.listen.address().is_loopback());
  REQUIRE(c.upstreams.size() == 1);
  CHECK(c.upstreams[0].name.empty());
  CHECK(c.prefetch);
  CHECK_FALSE(c.swarm);
  CHECK_FALSE(c.operator_token.configured());
}

TEST_CASE("proxy options: the seeder fronts the upstreams it names", "[options]") {
  auto parsed = parse({"--upstream", "http://r:5000", "--upstream", "r:5000=http://r:5000",
                       "--upstream", "other=https://o", "--seeder",
                       "default,r:5000=http://seeder:5060", "--peer-allow", "10.0.0.0/8"});
  REQUIRE(std::holds_alternative<proxy_config>(parsed));
  const auto& c = std::get<proxy_config>(parsed);
  REQUIRE(c.swarm);
  CHECK(c.swarm->seeder.host == "seeder");
  CHECK(c.swarm->fronts == std::vector<std::string>{"", "r:5000"});
  CHECK(c.swarm->session.peer_allow == std::vector<std::string>{"10.0.0.0/8"});
}

TEST_CASE("proxy options: credentials go to the upstream they name", "[options]") {
  auto parsed =
      parse({"--upstream", "http://r:5000", "--upstream", "hub=https://h", "--upstream-credentials",
             "hub=bob:pw", "--upstream-credentials", "default=alice:s3cret"});
  REQUIRE(std::holds_alternative<proxy_config>(parsed));
  const auto& c = std::get<proxy_config>(parsed);
  CHECK(c.upstreams[0].username == "alice");
  CHECK(c.upstreams[1].username == "bob");
  CHECK(c.upstreams[1].password == "pw");
}

TEST_CASE("proxy options: mistakes exit with status 2", "[options]") {
  CHECK(std::get<int>(parse({})) == 2);  // --upstream is required
  CHECK(std::get<int>(parse({"--upstream", "http://r", "--listen", "nowhere"})) == 2);
  CHECK(std::get<int>(parse({"--upstream", "http://r", "--seeder", "nope=http://s"})) == 2);
  CHECK(std::get<int>(parse({"--upstream", "http://r", "--upstream-credentials", "x=a:b"})) == 2);
  CHECK(std::get<int>(parse({"--upstream", "http://r", "--seeder", "http://s", "--fleet-ca",
                             "/nonexistent"})) == 2);
  CHECK(std::get<int>(parse({"--upstream", "http://r", "--operator-token-file", "/nonexistent"})) ==
        2);
  CHECK(std::get<int>(parse({"--help"})) == 0);
}

TEST_CASE("proxy options: fetch and prefetch bounds have defaults", "[options]") {
  auto parsed = parse({"--upstream", "http://127.0.0.1:5000"});
  REQUIRE(std::holds_alternative<proxy_config>(parsed));
  const auto& c = std::get<proxy_config>(parsed);
  CHECK(c.max_fetches == 16);
  CHECK(c.max_prefetches == 8);
  CHECK(c.prefetch_queue == 1024);
  CHECK(c.prefetch_stagger == 0);
  CHECK_FALSE(c.fsck);
}

TEST_CASE("proxy options: with a seeder prefetches start one after another by default",
          "[options]") {
  const auto stagger = [](std::vector<const char*> args) {
    auto parsed = parse(args);
    REQUIRE(std::holds_alternative<proxy_config>(parsed));
    return std::get<proxy_config>(parsed).prefetch_stagger;
  };
  CHECK(stagger({"--upstream", "http://r", "--seeder", "http://s"}) ==
        rookery::proxy::swarm_prefetch_stagger);
  CHECK(stagger({"--upstream", "http://r", "--seeder", "http://s", "--prefetch-stagger", "0"}) ==
        0);
  CHECK(stagger({"--upstream", "http://r", "--prefetch-stagger", "0.5"}) == 0.5);
}

TEST_CASE("proxy options: bounds and --fsck are read", "[options]") {
  auto parsed = parse({"--upstream", "http://r:5000", "--max-fetches", "3", "--max-prefetches", "2",
                       "--prefetch-queue", "10", "--prefetch-stagger", "0.2", "--fsck"});
  REQUIRE(std::holds_alternative<proxy_config>(parsed));
  const auto& c = std::get<proxy_config>(parsed);
  CHECK(c.max_fetches == 3);
  CHECK(c.max_prefetches == 2);
  CHECK(c.prefetch_queue == 10);
  CHECK(c.prefetch_stagger == 0.2);
  CHECK(c.fsck);
}

TEST_CASE("proxy options: zero prefetches at once is refused", "[options]") {
  auto parsed = parse({"--upstream", "http://r:5000", "--max-prefetches", "0"});
  REQUIRE(std::holds_alternative<int>(parsed));
  CHECK(std::get<int>(parsed) == 2);
}

TEST_CASE("proxy options: a prefetch stagger beyond the whole blob is refused", "[options]") {
  auto parsed = parse({"--upstream", "http://r:5000", "--prefetch-stagger", "1.5"});
  REQUIRE(std::holds_alternative<int>(parsed));
  CHECK(std::get<int>(parsed) == 2);
}

TEST_CASE("proxy options: second requests in the end game wait 3 s unless told otherwise",
          "[options]") {
  const auto wait = [](std::vector<const char*> more) {
    std::vector<const char*> args{"--upstream", "http://r:5000", "--seeder", "http://s:5060"};
    args.insert(args.end(), more.begin(), more.end());
    auto parsed = parse(args);
    REQUIRE(std::holds_alternative<proxy_config>(parsed));
    return std::get<proxy_config>(parsed).swarm->session.end_game_wait;
  };
  CHECK(wait({}) == std::chrono::milliseconds(3000));
  CHECK(wait({"--end-game-wait-ms", "0"}) == std::chrono::milliseconds(0));
  CHECK(wait({"--end-game-wait-ms", "4000"}) == std::chrono::milliseconds(4000));
  auto refused = parse({"--upstream", "http://r:5000", "--end-game-wait-ms", "-1"});
  REQUIRE(std::holds_alternative<int>(refused));
  CHECK(std::get<int>(refused) == 2);
}

namespace {
// An auth file in a scratch directory of its own.
struct temp_auth_file {
  rookery::test::temp_dir dir{"auth"};
  std::filesystem::path path = dir.path / "auth.json";
  explicit temp_auth_file(const std::string& text) { std::ofstream(path) << text; }
};
}  // namespace

TEST_CASE("proxy options: --tag-stale-seconds is off by default", "[options]") {
  auto off = parse({"--upstream", "http://127.0.0.1:5000"});
  CHECK(std::get<proxy_config>(off).tag_stale.count() == 0);
  auto on = parse({"--upstream", "http://127.0.0.1:5000", "--tag-stale-seconds", "600"});
  CHECK(std::get<proxy_config>(on).tag_stale.count() == 600);
  CHECK(std::get<int>(parse({"--upstream", "http://a:1", "--tag-stale-seconds", "-1"})) == 2);
}

TEST_CASE("proxy options: --auth-file logs upstreams in by host", "[options]") {
  // YWxpY2U6czNjcmV0 = alice:s3cret
  temp_auth_file file(R"({"auths": {"127.0.0.1:5000": {"auth": "YWxpY2U6czNjcmV0"}}})");
  auto parsed = parse({"--upstream", "http://127.0.0.1:5000", "--upstream",
                       "other=http://127.0.0.1:6000", "--auth-file", file.path.c_str()});
  const auto& c = std::get<proxy_config>(parsed);
  CHECK(c.upstreams[0].username == "alice");
  CHECK(c.upstreams[0].password == "s3cret");
  CHECK(c.upstreams[1].username.empty());
}

TEST_CASE("proxy options: REGISTRY_AUTH_FILE is the default auth file", "[options]") {
  temp_auth_file file(R"({"auths": {"127.0.0.1:5000": {"auth": "YWxpY2U6czNjcmV0"}}})");
  ::setenv("REGISTRY_AUTH_FILE", file.path.c_str(), 1);
  auto parsed = parse({"--upstream", "http://127.0.0.1:5000"});
  ::unsetenv("REGISTRY_AUTH_FILE");
  CHECK(std::get<proxy_config>(parsed).upstreams[0].username == "alice");
}

TEST_CASE("proxy options: --upstream-credentials win over the auth file", "[options]") {
  temp_auth_file file(R"({"auths": {"127.0.0.1:5000": {"auth": "YWxpY2U6czNjcmV0"}}})");
  auto parsed = parse({"--upstream", "http://127.0.0.1:5000", "--upstream-credentials",
                       "default=bob:pw", "--auth-file", file.path.c_str()});
  CHECK(std::get<proxy_config>(parsed).upstreams[0].username == "bob");
}

TEST_CASE("proxy options: a bad auth file stops the proxy (exit 2)", "[options]") {
  temp_auth_file file(R"({"auths": {"127.0.0.1:5000": {"auth": "not base64!"}}})");
  CHECK(std::get<int>(
            parse({"--upstream", "http://127.0.0.1:5000", "--auth-file", file.path.c_str()})) == 2);
  CHECK(std::get<int>(parse({"--upstream", "http://127.0.0.1:5000", "--auth-file",
                             "/nonexistent/auth.json"})) == 2);
  // --check-flags reads no file.
  CHECK(std::get<int>(parse({"--check-flags", "--upstream", "http://127.0.0.1:5000", "--auth-file",
                             "/nonexistent/auth.json"})) == 0);
}

TEST_CASE("proxy options: --check-flags reads no file and exits 0", "[options]") {
  auto parsed = parse({"--check-flags", "--upstream", "http://r:5000", "--seeder", "http://s:5060",
                       "--fleet-ca", "/nonexistent/ca.pem", "--fleet-cert", "/nonexistent/h.pem",
                       "--fleet-key", "/nonexistent/h.key", "--operator-token-file",
                       "/nonexistent/token", "--peer-allow", "10.0.0.0/8"});
  REQUIRE(std::holds_alternative<int>(parsed));
  CHECK(std::get<int>(parsed) == 0);
}

TEST_CASE("proxy options: --check-flags still checks every value", "[options]") {
  auto check = [](std::vector<const char*> args) {
    args.insert(args.begin(), {"--check-flags", "--upstream", "http://r:5000"});
    return std::get<int>(parse(std::move(args)));
  };
  CHECK(check({"--no-such-flag"}) == 2);
  CHECK(check({"--listen", "nowhere"}) == 2);
  CHECK(check({"--max-fetches", "many"}) == 2);
  CHECK(check({"--seeder", "nope=http://s"}) == 2);
  CHECK(check({"--seeder", "http://s", "--fleet-ca", "/ca.pem"}) == 2);  // not all three
  CHECK(check({"--seeder", "http://s", "--peer-allow", "10.0.0.0/33"}) == 2);
}

TEST_CASE("proxy options: a malformed --peer-allow stops start-up", "[options]") {
  CHECK(std::get<int>(parse(
            {"--upstream", "http://r", "--seeder", "http://s", "--peer-allow", "ten/8"})) == 2);
}
