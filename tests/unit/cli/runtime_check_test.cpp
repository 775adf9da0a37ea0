#include "cli/runtime_check.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "cli/setup.hpp"
#include "layers/small_file.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace rookery::cli;
namespace fs = std::filesystem;

namespace {

const host proxy = parse_host("http://127.0.0.1:5050");

// A scratch directory (the one fixture of the unit tests) with files written into it.
struct config_dir : rookery::test::temp_dir {
  config_dir() : temp_dir("runtime-check") {}
  fs::path write(const std::string& name, const std::string& text) const {
    fs::create_directories((path / name).parent_path());
    REQUIRE(rookery::layers::write_file_atomically(path / name, text));
    return path / name;
  }
};

// What `rookery setup` writes for `runtime` under `where`.
void setup(const std::string& runtime, const fs::path& where,
           std::vector<mirrored_registry> registries = {}) {
  setup_options o{runtime, proxy, std::move(registries), where, false};
  write_config_files(setup_files(o));
}

std::string cri_config(const fs::path& hosts) {
  return "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"" +
         hosts.string() + "\"\n";
}

}  // namespace

TEST_CASE("containerd: config_path and setup's _default hosts.toml are ok", "[cli][doctor]") {
  config_dir t;
  setup("containerd", t.path / "certs.d");
  const containerd_setup s{t.write("config.toml", cri_config(t.path / "certs.d")), {}, "1.6.20"};
  const auto checks = check_containerd(proxy, {}, s);
  REQUIRE(checks.size() == 2);
  CHECK(checks[0].status == check_status::ok);
  CHECK(checks[1].name == "containerd hosts.toml (_default)");
  CHECK(checks[1].status == check_status::ok);
}

TEST_CASE("containerd: the version 3 layout (containerd 2.x) is read too", "[cli][doctor]") {
  config_dir t;
  setup("containerd", t.path / "certs.d");
  const std::string config =
      "version = 3\n[plugins.\"io.containerd.cri.v1.images\"]\n  use_local_image_pull = true\n"
      "[plugins.\"io.containerd.cri.v1.images\".registry]\n  config_path = \"" +
      (t.path / "certs.d").string() + "\"\n";
  const containerd_setup s{t.write("config.toml", config), {}, "2.1.0"};
  const auto checks = check_containerd(proxy, {}, s);
  CHECK(checks[0].status == check_status::ok);
  CHECK(checks[1].status == check_status::ok);
}

TEST_CASE("containerd 2.x without use_local_image_pull gets a transfer-service hint",
          "[cli][doctor]") {
  config_dir t;
  const containerd_setup s{t.write("config.toml", cri_config(t.path)), {}, "2.0.4"};
  const auto checks = check_containerd(proxy, {}, s);
  CHECK(checks[0].status == check_status::warn);
  CHECK(checks[0].hint.find("transfer service") != std::string::npos);
}

TEST_CASE("containerd: no config_path is a FAIL naming it", "[cli][doctor]") {
  config_dir t;
  const containerd_setup s{t.write("config.toml", "version = 2\n"), {}, "1.6.20"};
  const auto checks = check_containerd(proxy, {}, s);
  REQUIRE(checks.size() == 1);  // nothing says where hosts.toml would be
  CHECK(checks[0].status == check_status::fail);
  CHECK(checks[0].detail.find("config_path") != std::string::npos);
}

TEST_CASE("containerd: a config.toml that is not TOML is a FAIL with its line", "[cli][doctor]") {
  config_dir t;
  const containerd_setup s{t.write("config.toml", "version = 2\n[plugins\n"), {}, ""};
  const auto checks = check_containerd(proxy, {}, s);
  CHECK(checks[0].status == check_status::fail);
  CHECK(checks[0].detail.find("line 2") != std::string::npos);
}

TEST_CASE("containerd: a disabled CRI plugin makes config_path a warning", "[cli][doctor]") {
  config_dir t;
  const containerd_setup s{
      t.write("config.toml",
              "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n" + cri_config(t.path)),
      {},
      "1.6.20"};
  CHECK(check_containerd(proxy, {}, s)[0].status == check_status::warn);
}

TEST_CASE("containerd hosts.toml: a named registry's own directory wins over _default",
          "[cli][doctor]") {
  config_dir t;
  setup("containerd", t.path, {parse_mirrored_registry("reg.example:5000")});
  t.write("reg.example:5000/hosts.toml", "[host.\"http://10.9.9.9:5050\"]\n");
  const auto r = check_containerd_hosts(proxy, "reg.example:5000", t.path);
  CHECK(r.status == check_status::fail);
  CHECK(r.detail.find("http://10.9.9.9:5050") != std::string::npos);
  CHECK(r.detail.find("not to the proxy at http://127.0.0.1:5050") != std::string::npos);
  // Another registry falls through to _default, which names the proxy.
  CHECK(check_containerd_hosts(proxy, "other.example", t.path).status == check_status::ok);
}

TEST_CASE("containerd hosts.toml: the proxy without resolve is a FAIL", "[cli][doctor]") {
  config_dir t;
  t.write("_default/hosts.toml", "[host.\"http://127.0.0.1:5050\"]\ncapabilities = [\"pull\"]\n");
  const auto r = check_containerd_hosts(proxy, "_default", t.path);
  CHECK(r.status == check_status::fail);
  CHECK(r.detail.find("resolve") != std::string::npos);
}

TEST_CASE("containerd hosts.toml: https in the file is not the http proxy", "[cli][doctor]") {
  config_dir t;
  t.write("_default/hosts.toml", "[host.\"127.0.0.1:5050\"]\n");  // no scheme: https
  CHECK(check_containerd_hosts(proxy, "_default", t.path).status == check_status::fail);
}

TEST_CASE("containerd hosts.toml: a missing file is a FAIL", "[cli][doctor]") {
  config_dir t;
  const auto r = check_containerd_hosts(proxy, "_default", t.path);
  CHECK(r.status == check_status::fail);
  CHECK(r.detail.find("does not exist") != std::string::npos);
}

TEST_CASE("docker: setup's daemon.json is ok", "[cli][doctor]") {
  config_dir t;
  setup("docker", t.path / "daemon.json");
  CHECK(check_docker(proxy, t.path / "daemon.json").status == check_status::ok);
}

TEST_CASE("docker: a mirror pointing elsewhere is a FAIL naming both", "[cli][doctor]") {
  config_dir t;
  const auto path = t.write("daemon.json", R"({"registry-mirrors": ["http://10.1.1.1:5050"]})");
  const auto r = check_docker(proxy, path);
  CHECK(r.status == check_status::fail);
  CHECK(r.detail.find("http://10.1.1.1:5050") != std::string::npos);
  CHECK(r.detail.find("http://127.0.0.1:5050") != std::string::npos);
}

TEST_CASE("docker: an http proxy missing from insecure-registries is a FAIL", "[cli][doctor]") {
  config_dir t;
  const auto path = t.write("daemon.json", R"({"registry-mirrors": ["http://127.0.0.1:5050/"]})");
  const auto r = check_docker(proxy, path);
  CHECK(r.status == check_status::fail);
  CHECK(r.detail.find("insecure-registries") != std::string::npos);
}

TEST_CASE("docker: the proxy behind another mirror is a warning", "[cli][doctor]") {
  config_dir t;
  const auto path = t.write("daemon.json",
                            R"({"registry-mirrors": ["https://m.example", "http://127.0.0.1:5050"],
                                "insecure-registries": ["127.0.0.1:5050"]})");
  CHECK(check_docker(proxy, path).status == check_status::warn);
}

TEST_CASE("docker: daemon.json that is not an object is a FAIL", "[cli][doctor]") {
  config_dir t;
  CHECK(check_docker(proxy, t.write("daemon.json", "[1]")).status == check_status::fail);
  CHECK(check_docker(proxy, t.path / "absent.json").status == check_status::fail);
}

TEST_CASE("podman: setup's registries.conf is ok for its registry", "[cli][doctor]") {
  config_dir t;
  setup("podman", t.path / "rookery.conf", {parse_mirrored_registry("reg.example:5000")});
  CHECK(check_podman(proxy, {"reg.example:5000"}, t.path / "rookery.conf").status ==
        check_status::ok);
  CHECK(check_podman(proxy, {}, t.path / "rookery.conf").status == check_status::ok);
}

TEST_CASE("podman: a registry without an entry is a FAIL naming it", "[cli][doctor]") {
  config_dir t;
  setup("podman", t.path / "rookery.conf", {parse_mirrored_registry("reg.example:5000")});
  const auto r = check_podman(proxy, {"other.example"}, t.path / "rookery.conf");
  CHECK(r.status == check_status::fail);
  CHECK(r.detail.find("other.example: no [[registry]] entry") != std::string::npos);
}

TEST_CASE("podman: a mirror elsewhere, or one without insecure, is a FAIL", "[cli][doctor]") {
  config_dir t;
  const auto elsewhere = t.write("a.conf",
                                 "[[registry]]\nlocation = \"reg.example\"\n[[registry.mirror]]\n"
                                 "location = \"10.1.1.1:5050\"\ninsecure = true\n");
  CHECK(check_podman(proxy, {"reg.example"}, elsewhere).status == check_status::fail);
  const auto secure = t.write("b.conf",
                              "[[registry]]\nlocation = \"reg.example\"\n[[registry.mirror]]\n"
                              "location = \"127.0.0.1:5050\"\n");
  const auto r = check_podman(proxy, {"reg.example"}, secure);
  CHECK(r.status == check_status::fail);
  CHECK(r.detail.find("insecure") != std::string::npos);
}

TEST_CASE("check statuses print as ok, warn and FAIL", "[cli][doctor]") {
  CHECK(to_string(check_status::ok) == "ok");
  CHECK(to_string(check_status::warn) == "warn");
  CHECK(to_string(check_status::fail) == "FAIL");
}
