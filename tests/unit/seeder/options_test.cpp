#include "seeder/options.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "tests/unit/temp_dir.hpp"

using rookery::seeder::parse_options;
using rookery::seeder::seeder_config;

namespace {
std::variant<seeder_config, int> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "rookery-seeder");
  return parse_options(static_cast<int>(args.size()), args.data());
}
}  // namespace

TEST_CASE("seeder options: defaults", "[options]") {
  ::unsetenv("ROOKERY_NOTIFY_SECRET");
  ::unsetenv("ROOKERY_OPERATOR_TOKEN");
  ::unsetenv("ROOKERY_REGISTRY_CREDENTIALS");
  auto parsed = parse({"--registry", "http://127.0.0.1:5000"});
  REQUIRE(std::holds_alternative<seeder_config>(parsed));
  const auto& c = std::get<seeder_config>(parsed);
  CHECK(c.listen.port() == 5060);
  CHECK(c.public_url == "http://0.0.0.0:5060");
  CHECK(c.seeding.trackers == std::vector<std::string>{"http://0.0.0.0:5060/announce"});
  CHECK(c.session.seeder);
  CHECK(c.api.image_seeds == 2);
  CHECK_FALSE(c.api.notify_secret.configured());
  CHECK_FALSE(c.api.operator_token.configured());
  CHECK(c.seeding.fleet_ca_pem.empty());
  CHECK(c.tracker.max_peers_per_torrent == 5000);
  CHECK(c.tracker.max_peers_per_address == 16);
  CHECK_FALSE(c.fsck);
  CHECK(c.session.deal_pieces);
  CHECK(c.session.unchoke_slots == -1);  // dealing: every host from the first second
}

TEST_CASE("seeder options: without the dealer the origin unchokes a few hosts in turn",
          "[options]") {
  auto off = parse({"--registry", "http://r:5000", "--deal-pieces", "false"});
  REQUIRE(std::holds_alternative<seeder_config>(off));
  CHECK_FALSE(std::get<seeder_config>(off).session.deal_pieces);
  CHECK(std::get<seeder_config>(off).session.unchoke_slots == 4);
  auto set = parse({"--registry", "http://r:5000", "--unchoke-slots", "8"});
  REQUIRE(std::holds_alternative<seeder_config>(set));
  CHECK(std::get<seeder_config>(set).session.unchoke_slots == 8);
}

TEST_CASE("seeder options: tracker bounds and --fsck", "[options]") {
  auto parsed = parse({"--registry", "http://127.0.0.1:5000", "--tracker-peers", "300",
                       "--tracker-peers-per-address", "4", "--fsck"});
  REQUIRE(std::holds_alternative<seeder_config>(parsed));
  const auto& c = std::get<seeder_config>(parsed);
  CHECK(c.tracker.max_peers_per_torrent == 300);
  CHECK(c.tracker.max_peers_per_address == 4);
  CHECK(c.fsck);
}

TEST_CASE("seeder options: secrets and credentials from the environment", "[options]") {
  ::setenv("ROOKERY_NOTIFY_SECRET", "n0tify", 1);
  ::setenv("ROOKERY_OPERATOR_TOKEN", "0perator", 1);
  ::setenv("ROOKERY_REGISTRY_CREDENTIALS", "seeder:pw", 1);
  auto parsed = parse({"--registry", "http://r:5000", "--public-url", "http://s:5060"});
  ::unsetenv("ROOKERY_NOTIFY_SECRET");
  ::unsetenv("ROOKERY_OPERATOR_TOKEN");
  ::unsetenv("ROOKERY_REGISTRY_CREDENTIALS");
  REQUIRE(std::holds_alternative<seeder_config>(parsed));
  const auto& c = std::get<seeder_config>(parsed);
  CHECK(c.api.notify_secret.admits("Bearer n0tify"));
  CHECK(c.api.operator_token.admits("Bearer 0perator"));
  CHECK(c.registry.username == "seeder");
  CHECK(c.seeding.trackers == std::vector<std::string>{"http://s:5060/announce"});
}

TEST_CASE("seeder options: mistakes exit with status 2", "[options]") {
  CHECK(std::get<int>(parse({})) == 2);
  CHECK(std::get<int>(parse({"--registry", "name=http://r"})) == 2);
  CHECK(std::get<int>(parse({"--registry", "http://r", "--image-seeds", "0"})) == 2);
  CHECK(std::get<int>(parse({"--registry", "http://r", "--fleet-ca", "/x"})) == 2);  // not all 3
  CHECK(std::get<int>(parse({"--registry", "http://r", "--notify-secret-file", "/nope"})) == 2);
}

TEST_CASE("seeder options: --auth-file logs the seeder in to its registry", "[options]") {
  const rookery::test::temp_dir dir("auth");
  const auto path = dir.path / "auth.json";
  // Ym9iOnB3 = bob:pw
  std::ofstream(path) << R"({"auths": {"http://127.0.0.1:5000": {"auth": "Ym9iOnB3"}}})";
  auto parsed = parse({"--registry", "http://127.0.0.1:5000", "--auth-file", path.c_str()});
  REQUIRE(std::holds_alternative<seeder_config>(parsed));
  CHECK(std::get<seeder_config>(parsed).registry.username == "bob");
  CHECK(std::get<seeder_config>(parsed).registry.password == "pw");
}

TEST_CASE("seeder options: --check-flags reads no file and exits 0", "[options]") {
  auto parsed = parse({"--check-flags", "--registry", "http://r", "--notify-secret-file", "/nope",
                       "--operator-token-file", "/nope", "--fleet-ca", "/nope/ca.pem",
                       "--fleet-cert", "/nope/s.pem", "--fleet-key", "/nope/s.key"});
  REQUIRE(std::holds_alternative<int>(parsed));
  CHECK(std::get<int>(parsed) == 0);
}

TEST_CASE("seeder options: --check-flags still checks every value", "[options]") {
  CHECK(std::get<int>(parse({"--check-flags", "--registry", "http://r", "--unknown"})) == 2);
  CHECK(std::get<int>(parse({"--check-flags", "--registry", "name=http://r"})) == 2);
  CHECK(std::get<int>(parse({"--check-flags", "--registry", "http://r", "--image-seeds", "0"})) ==
        2);
  CHECK(std::get<int>(parse({"--check-flags", "--registry", "http://r", "--fleet-key", "/k"})) ==
        2);
  CHECK(std::get<int>(parse({"--check-flags", "--registry", "http://r", "--peer-allow", "x/8"})) ==
        2);
}
