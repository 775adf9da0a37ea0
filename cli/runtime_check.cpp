#include "cli/runtime_check.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <sstream>

#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include "layers/small_file.hpp"

namespace rookery::cli {
namespace fs = std::filesystem;
namespace {

constexpr const char* setup_hint_containerd =
    "run `rookery setup containerd --proxy URL [--registry NAME]`";

// Reads and parses a TOML file; on failure says why in `why` (missing, unreadable, bad TOML).
std::optional<toml::table> read_toml(const fs::path& path, std::string& why) {
  const auto text = layers::read_small_file(path);
  if (!text) {
    why = path.string() + " does not exist or cannot be read";
    return std::nullopt;
  }
  try {
    return toml::parse(*text, path.string());
  } catch (const toml::parse_error& e) {
    why = path.string() + " is not valid TOML (line " + std::to_string(e.source().begin.line) +
          ": " + std::string(e.description()) + ")";
    return std::nullopt;
  }
}

// Whether `text` (a URL, or host[:port] meaning https) is the proxy's scheme, host and port.
bool names_proxy(std::string_view text, const host& proxy) {
  std::string s(text);
  if (s.find("://") == std::string::npos) s = "https://" + s;
  const auto u = http::url::parse(s);
  return u && u->scheme == proxy.base.scheme && u->authority() == proxy.base.authority();
}

// containerd's CRI registry config_path in either config layout (version 2: the grpc CRI
// plugin; version 3, containerd 2.x: the images plugin).
std::optional<std::string> cri_config_path(const toml::table& config) {
  for (const char* plugin : {"io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images"}) {
    if (auto path = config["plugins"][plugin]["registry"]["config_path"].value<std::string>())
      return path;
  }
  return std::nullopt;
}

bool cri_disabled(const toml::table& config) {
  const auto* disabled = config["disabled_plugins"].as_array();
  if (!disabled) return false;
  for (const auto& entry : *disabled) {
    const auto name = entry.value<std::string>();
    if (name && (*name == "cri" || name->find(".cri") != std::string::npos)) return true;
  }
  return false;
}

bool containerd_2(const std::string& version) {
  return version.rfind("2.", 0) == 0;
}

// containerd 2.x pulls for Kubernetes through its transfer service, which has been reported to
// ignore hosts.toml unless CRI is told to pull locally.
std::string transfer_service_hint(const toml::table& config, const std::string& version) {
  if (!containerd_2(version)) return {};
  const bool local =
      config["plugins"]["io.containerd.cri.v1.images"]["use_local_image_pull"].value_or(false);
  if (local) return {};
  return "containerd " + version +
         ": its transfer service has been reported to bypass hosts.toml; set use_local_image_pull "
         "= true under [plugins.\"io.containerd.cri.v1.images\"]";
}

check_result check_containerd_config(const toml::table& config, const fs::path& path,
                                     const containerd_setup& setup, std::string& config_path) {
  const std::string name = "containerd config.toml";
  const auto found = cri_config_path(config);
  const std::string hint = transfer_service_hint(config, setup.version);
  if (!found || found->empty()) {
    return check_result{name, check_status::fail,
                        path.string() +
                            " sets no config_path for the CRI registry, so containerd "
                            "never reads certs.d/*/hosts.toml",
                        "add examples/containerd/config-snippet.toml and restart containerd" +
                            (hint.empty() ? "" : "; " + hint)};
  }
  config_path = *found;
  if (cri_disabled(config)) {
    return check_result{
        name, check_status::warn,
        "config_path = \"" + *found + "\", but the CRI plugin is disabled",
        "config_path serves Kubernetes (CRI) pulls; `ctr pull` needs --hosts-dir " + *found};
  }
  return check_result{name, hint.empty() ? check_status::ok : check_status::warn,
                      "config_path = \"" + *found + "\"", hint};
}

// The proxy's [host."URL"] table in a hosts.toml, or null.
const toml::table* proxy_host_entry(const toml::table& hosts, const host& proxy,
                                    std::vector<std::string>& named) {
  const auto* entries = hosts["host"].as_table();
  if (!entries) return nullptr;
  for (const auto& [key, value] : *entries) {
    named.emplace_back(key.str());
    if (names_proxy(key.str(), proxy)) return value.as_table();
  }
  return nullptr;
}

// Capabilities a host entry lacks of pull and resolve (no list: containerd grants all).
std::string missing_capabilities(const toml::table& entry) {
  const auto* caps = entry["capabilities"].as_array();
  if (!caps) return {};
  std::string missing;
  for (const char* wanted : {"pull", "resolve"}) {
    bool has = false;
    for (const auto& c : *caps) has = has || c.value<std::string>() == wanted;
    if (!has) missing += (missing.empty() ? "" : ", ") + std::string(wanted);
  }
  return missing;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out.empty() ? "none" : out;
}

}  // namespace

std::string_view to_string(check_status s) {
  switch (s) {
    case check_status::ok:
      return "ok";
    case check_status::warn:
      return "warn";
    case check_status::fail:
      return "FAIL";
  }
  return "FAIL";
}

check_result check_containerd_hosts(const host& proxy, const std::string& registry,
                                    const fs::path& hosts_dir) {
  const std::string name = "containerd hosts.toml (" + registry + ")";
  // containerd reads certs.d/<registry>/ when it exists, else certs.d/_default/.
  fs::path file = hosts_dir / registry / "hosts.toml";
  std::error_code ec;
  if (!fs::is_directory(hosts_dir / registry, ec)) file = hosts_dir / "_default" / "hosts.toml";
  std::string why;
  const auto hosts = read_toml(file, why);
  if (!hosts) return check_result{name, check_status::fail, why, setup_hint_containerd};
  std::vector<std::string> named;
  const auto* entry = proxy_host_entry(*hosts, proxy, named);
  if (!entry) {
    return check_result{
        name, check_status::fail,
        file.string() + " sends pulls to " + joined(named) + ", not to the proxy at " + proxy.name,
        setup_hint_containerd};
  }
  if (const auto missing = missing_capabilities(*entry); !missing.empty()) {
    return check_result{name, check_status::fail,
                        file.string() + " names the proxy without the capabilities " + missing,
                        "capabilities = [\"pull\", \"resolve\"]"};
  }
  return check_result{name, check_status::ok, file.string() + " sends pulls to " + proxy.name};
}

std::vector<check_result> check_containerd(const host& proxy,
                                           const std::vector<std::string>& registries,
                                           const containerd_setup& setup) {
  std::vector<check_result> out;
  std::string why, config_path;
  const auto config = read_toml(setup.config, why);
  if (!config) {
    out.push_back(check_result{"containerd config.toml", check_status::fail, why,
                               "give its path with --containerd-config"});
  } else {
    out.push_back(check_containerd_config(*config, setup.config, setup, config_path));
  }
  // config_path may list several directories (':'); the first is where setup writes.
  fs::path hosts_dir = setup.hosts_dir;
  if (hosts_dir.empty()) hosts_dir = config_path.substr(0, config_path.find(':'));
  if (hosts_dir.empty()) return out;  // nothing says where hosts.toml files would be
  const std::vector<std::string> names =
      registries.empty() ? std::vector<std::string>{"_default"} : registries;
  for (const auto& r : names) out.push_back(check_containerd_hosts(proxy, r, hosts_dir));
  return out;
}

check_result check_docker(const host& proxy, const fs::path& daemon_json) {
  const std::string name = "docker daemon.json";
  const std::string hint = "run `rookery setup docker --proxy URL`, then restart dockerd";
  const auto text = layers::read_small_file(daemon_json);
  if (!text)
    return check_result{name, check_status::fail, daemon_json.string() + " does not exist", hint};
  const auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (!doc.is_object())
    return check_result{name, check_status::fail, daemon_json.string() + " is not a JSON object",
                        hint};
  std::vector<std::string> mirrors;
  if (doc.contains("registry-mirrors") && doc["registry-mirrors"].is_array())
    for (const auto& m : doc["registry-mirrors"])
      if (m.is_string()) mirrors.push_back(m.get<std::string>());
  std::size_t at = 0;
  while (at < mirrors.size() && !names_proxy(mirrors[at], proxy)) ++at;
  if (at == mirrors.size()) {
    return check_result{
        name, check_status::fail,
        "registry-mirrors is [" + joined(mirrors) + "], without the proxy " + proxy.name, hint};
  }
  if (!proxy.base.tls()) {
    bool insecure = false;
    if (doc.contains("insecure-registries") && doc["insecure-registries"].is_array())
      for (const auto& r : doc["insecure-registries"])
        insecure = insecure || r == proxy.base.authority();
    if (!insecure)
      return check_result{name, check_status::fail,
                          "the proxy speaks http, but " + proxy.base.authority() +
                              " is not in insecure-registries: dockerd would skip the mirror",
                          hint};
  }
  if (at > 0)
    return check_result{name, check_status::warn,
                        "the proxy is mirror " + std::to_string(at + 1) + " of " +
                            std::to_string(mirrors.size()) + ": dockerd tries the others first",
                        hint};
  return check_result{name, check_status::ok, "registry-mirrors starts with " + proxy.name};
}

namespace {

// The proxy among a [[registry]]'s mirrors: "" when found and usable, else why not.
std::string podman_mirror_problem(const toml::table& registry, const host& proxy) {
  const auto* mirrors = registry["mirror"].as_array();
  if (mirrors) {
    for (const auto& m : *mirrors) {
      const auto* t = m.as_table();
      const auto location = t ? (*t)["location"].value<std::string>() : std::nullopt;
      // podman's locations have no scheme: `insecure` says whether it speaks http.
      if (!location || !names_proxy(proxy.base.scheme + "://" + *location, proxy)) continue;
      if (!proxy.base.tls() && !(*t)["insecure"].value_or(false))
        return "the proxy speaks http, but its mirror entry lacks insecure = true";
      return {};
    }
  }
  return "no mirror at " + proxy.base.authority();
}

}  // namespace

check_result check_podman(const host& proxy, const std::vector<std::string>& registries,
                          const fs::path& registries_conf) {
  const std::string name = "podman registries.conf";
  const std::string hint = "run `rookery setup podman --proxy URL --registry NAME`";
  std::string why;
  const auto conf = read_toml(registries_conf, why);
  if (!conf) return check_result{name, check_status::fail, why, hint};
  std::vector<std::string> problems, mirrored, seen;
  if (const auto* list = (*conf)["registry"].as_array()) {
    for (const auto& entry : *list) {
      const auto* r = entry.as_table();
      const auto location = r ? (*r)["location"].value<std::string>() : std::nullopt;
      if (!location || (!registries.empty() && std::find(registries.begin(), registries.end(),
                                                         *location) == registries.end()))
        continue;
      seen.push_back(*location);
      const auto problem = podman_mirror_problem(*r, proxy);
      if (problem.empty()) {
        mirrored.push_back(*location);
      } else {
        problems.push_back(*location + ": " + problem);
      }
    }
  }
  for (const auto& want : registries)
    if (std::find(seen.begin(), seen.end(), want) == seen.end())
      problems.push_back(want + ": no [[registry]] entry");
  if (!problems.empty() || mirrored.empty()) {
    return check_result{
        name, check_status::fail,
        registries_conf.string() + ": " +
            (problems.empty() ? "no registry has the proxy as a mirror" : joined(problems)),
        hint};
  }
  return check_result{
      name, check_status::ok,
      registries_conf.string() + " mirrors " + joined(mirrored) + " at " + proxy.base.authority()};
}

std::string containerd_version() {
  // "containerd github.com/containerd/containerd v1.7.2 <commit>": the third word.
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen("containerd --version 2>/dev/null", "r"),
                                             ::pclose);
  if (!pipe) return {};
  char line[512] = {};
  if (!std::fgets(line, sizeof line, pipe.get())) return {};
  std::istringstream words(line);
  std::string word, version;
  for (int i = 0; i < 3 && words >> word; ++i) version = i == 2 ? word : "";
  if (!version.empty() && version[0] == 'v') version.erase(0, 1);
  return version;
}

}  // namespace rookery::cli
