#include "cli/setup.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "layers/small_file.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace rookery::cli;
namespace fs = std::filesystem;

namespace {

const host local_proxy = parse_host("http://127.0.0.1:5050");

std::string read(const fs::path& p) {
  return rookery::layers::read_small_file(p).value_or("<none>");
}

}  // namespace

TEST_CASE("parse_mirrored_registry: a name means https", "[cli][setup]") {
  const auto r = parse_mirrored_registry("registry.example:5000");
  CHECK(r.name == "registry.example:5000");
  CHECK(r.url == "https://registry.example:5000");
}

TEST_CASE("parse_mirrored_registry: docker.io is Docker Hub's registry", "[cli][setup]") {
  CHECK(parse_mirrored_registry("docker.io").url == "https://registry-1.docker.io");
}

TEST_CASE("parse_mirrored_registry: NAME=URL", "[cli][setup]") {
  const auto r = parse_mirrored_registry("127.0.0.1:5000=http://127.0.0.1:5000/");
  CHECK(r.name == "127.0.0.1:5000");
  CHECK(r.url == "http://127.0.0.1:5000");
}

TEST_CASE("parse_mirrored_registry: refuses paths, schemes and traversal", "[cli][setup]") {
  CHECK_THROWS_AS(parse_mirrored_registry("../etc"), std::invalid_argument);
  CHECK_THROWS_AS(parse_mirrored_registry(".."), std::invalid_argument);
  CHECK_THROWS_AS(parse_mirrored_registry("https://docker.io"), std::invalid_argument);
  CHECK_THROWS_AS(parse_mirrored_registry(""), std::invalid_argument);
  CHECK_THROWS_AS(parse_mirrored_registry("a=ftp://b"), std::invalid_argument);
}

TEST_CASE("containerd _default hosts.toml names only the proxy", "[cli][setup]") {
  const auto text = containerd_hosts_toml(local_proxy, nullptr);
  CHECK(text.find("server =") == std::string::npos);
  CHECK(text.find("[host.\"http://127.0.0.1:5050\"]\n  capabilities = [\"pull\", \"resolve\"]\n") !=
        std::string::npos);
}

TEST_CASE("containerd hosts.toml of a registry falls back to its server", "[cli][setup]") {
  const auto r = parse_mirrored_registry("docker.io");
  CHECK(
      containerd_hosts_toml(local_proxy, &r).find("server = \"https://registry-1.docker.io\"\n") !=
      std::string::npos);
}

TEST_CASE("docker daemon.json from nothing", "[cli][setup]") {
  const auto doc = nlohmann::json::parse(docker_daemon_json("", local_proxy));
  CHECK(doc["registry-mirrors"] == nlohmann::json::array({"http://127.0.0.1:5050"}));
  CHECK(doc["insecure-registries"] == nlohmann::json::array({"127.0.0.1:5050"}));
}

TEST_CASE("docker daemon.json keeps other keys and mirrors, proxy first", "[cli][setup]") {
  const auto text = docker_daemon_json(
      R"({"log-driver": "journald", "registry-mirrors": ["https://m"]})", local_proxy);
  const auto doc = nlohmann::json::parse(text);
  CHECK(doc["log-driver"] == "journald");
  CHECK(doc["registry-mirrors"] == nlohmann::json::array({"http://127.0.0.1:5050", "https://m"}));
  CHECK(text.find("log-driver") < text.find("registry-mirrors"));  // order kept
}

TEST_CASE("docker daemon.json: setting it twice changes nothing", "[cli][setup]") {
  const auto once = docker_daemon_json("", local_proxy);
  CHECK(docker_daemon_json(once, local_proxy) == once);
}

TEST_CASE("docker daemon.json: an https proxy is not insecure", "[cli][setup]") {
  const auto doc = nlohmann::json::parse(docker_daemon_json("", parse_host("https://p:5050")));
  CHECK_FALSE(doc.contains("insecure-registries"));
}

TEST_CASE("docker daemon.json that is not an object is refused", "[cli][setup]") {
  CHECK_THROWS_AS(docker_daemon_json("[1]", local_proxy), std::invalid_argument);
  CHECK_THROWS_AS(docker_daemon_json("{broken", local_proxy), std::invalid_argument);
}

TEST_CASE("podman registries.conf: a mirror per registry", "[cli][setup]") {
  const auto text = podman_registries_conf(local_proxy, {parse_mirrored_registry("quay.io")});
  CHECK(text.find("[[registry]]\nlocation = \"quay.io\"\n\n[[registry.mirror]]\nlocation = "
                  "\"127.0.0.1:5050\"\ninsecure = true\n") != std::string::npos);
}

TEST_CASE("podman registries.conf: a plain-http registry is insecure too", "[cli][setup]") {
  const auto text =
      podman_registries_conf(local_proxy, {parse_mirrored_registry("reg:5000=http://reg:5000")});
  CHECK(text.find("location = \"reg:5000\"\ninsecure = true\n") != std::string::npos);
}

TEST_CASE("setup_files: containerd writes _default and each registry", "[cli][setup]") {
  setup_options o{
      "containerd", local_proxy, {parse_mirrored_registry("docker.io")}, "/x/certs.d", false};
  const auto files = setup_files(o);
  REQUIRE(files.size() == 2);
  CHECK(files[0].path == "/x/certs.d/_default/hosts.toml");
  CHECK(files[1].path == "/x/certs.d/docker.io/hosts.toml");
}

TEST_CASE("setup_files: podman needs a registry", "[cli][setup]") {
  setup_options o{"podman", local_proxy, {}, "/x/rookery.conf", false};
  CHECK_THROWS_AS(setup_files(o), std::invalid_argument);
}

TEST_CASE("write_config_files creates directories and files", "[cli][setup]") {
  const rookery::test::temp_dir dir("setup");
  const auto report = write_config_files({{dir.path / "a" / "hosts.toml", "one\n"}});
  CHECK(read(dir.path / "a" / "hosts.toml") == "one\n");
  REQUIRE(report.size() == 1);
  CHECK(report[0].find("written") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path / "a" / "hosts.toml.rookery-backup"));
}

TEST_CASE("write_config_files backs up a file it changes, once per change", "[cli][setup]") {
  const rookery::test::temp_dir dir("setup");
  const auto file = dir.path / "daemon.json";
  std::ofstream(file) << "original";
  write_config_files({{file, "first"}});
  write_config_files({{file, "second"}});
  CHECK(read(file) == "second");
  CHECK(read(dir.path / "daemon.json.rookery-backup") == "original");
  CHECK(read(dir.path / "daemon.json.rookery-backup.1") == "first");
}

TEST_CASE("write_config_files leaves an identical file alone", "[cli][setup]") {
  const rookery::test::temp_dir dir("setup");
  const auto file = dir.path / "rookery.conf";
  std::ofstream(file) << "same";
  const auto report = write_config_files({{file, "same"}});
  CHECK(report[0].find("unchanged") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path / "rookery.conf.rookery-backup"));
}

TEST_CASE("setup_files merges into an existing daemon.json", "[cli][setup]") {
  const rookery::test::temp_dir dir("setup");
  const auto file = dir.path / "daemon.json";
  std::ofstream(file) << R"({"data-root": "/srv/docker"})";
  setup_options o{"docker", local_proxy, {}, file, false};
  const auto files = setup_files(o);
  REQUIRE(files.size() == 1);
  const auto doc = nlohmann::json::parse(files[0].text);
  CHECK(doc["data-root"] == "/srv/docker");
  CHECK(doc["registry-mirrors"][0] == "http://127.0.0.1:5050");
}
