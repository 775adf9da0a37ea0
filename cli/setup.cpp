#include "cli/setup.hpp"

#include <iostream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "layers/small_file.hpp"

namespace rookery::cli {
namespace fs = std::filesystem;
namespace {

// Registry names as image references spell them: host[:port], no scheme, no path.
bool valid_registry_name(std::string_view name) {
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-:_") == std::string::npos;
}

fs::path default_path(const std::string& runtime) {
  if (runtime == "containerd") return "/etc/containerd/certs.d";
  if (runtime == "docker") return "/etc/docker/daemon.json";
  return "/etc/containers/registries.conf.d/rookery.conf";
}

// The first PATH.rookery-backup[.N] that does not exist yet.
fs::path backup_path(const fs::path& path) {
  fs::path candidate = path.string() + ".rookery-backup";
  for (int n = 1; fs::exists(candidate); ++n)
    candidate = path.string() + ".rookery-backup." + std::to_string(n);
  return candidate;
}

}  // namespace

mirrored_registry parse_mirrored_registry(std::string_view text) {
  const auto eq = text.find('=');
  mirrored_registry out{std::string(text.substr(0, eq)), {}};
  if (!valid_registry_name(out.name))
    throw std::invalid_argument("not a registry name: '" + out.name + "'");
  if (eq != std::string_view::npos) {
    const auto url = http::url::parse(text.substr(eq + 1));
    if (!url) throw std::invalid_argument("not a registry URL in '" + std::string(text) + "'");
    out.url = url->scheme + "://" + url->authority();
  } else {
    out.url = out.name == "docker.io" ? "https://registry-1.docker.io" : "https://" + out.name;
  }
  return out;
}

std::string containerd_hosts_toml(const host& proxy, const mirrored_registry* registry) {
  std::string out =
      "# Written by `rookery setup containerd`: pulls go through rookery-proxy first;\n"
      "# containerd falls back to the registry itself when the proxy fails.\n";
  if (registry) out += "server = \"" + registry->url + "\"\n";
  out += "\n[host.\"" + proxy.name + "\"]\n  capabilities = [\"pull\", \"resolve\"]\n";
  return out;
}

std::string docker_daemon_json(std::string_view existing, const host& proxy) {
  auto doc = existing.find_first_not_of(" \t\r\n") == std::string_view::npos
                 ? nlohmann::ordered_json::object()
                 : nlohmann::ordered_json::parse(existing, nullptr, false);
  if (!doc.is_object()) throw std::invalid_argument("daemon.json is not a JSON object");
  const auto add_first = [&doc](const char* key, const std::string& value) {
    auto& list = doc[key];
    if (!list.is_array()) list = nlohmann::ordered_json::array();
    for (auto it = list.begin(); it != list.end(); ++it)
      if (*it == value) return;
    list.insert(list.begin(), value);
  };
  add_first("registry-mirrors", proxy.name);
  if (!proxy.base.tls()) add_first("insecure-registries", proxy.base.authority());
  return doc.dump(2) + "\n";
}

std::string podman_registries_conf(const host& proxy,
                                   const std::vector<mirrored_registry>& registries) {
  std::string out =
      "# Written by `rookery setup podman`: podman, buildah, skopeo and CRI-O pull\n"
      "# through rookery-proxy first, then from the registry itself.\n";
  for (const auto& r : registries) {
    out += "\n[[registry]]\nlocation = \"" + r.name + "\"\n";
    if (r.url.rfind("http://", 0) == 0) out += "insecure = true\n";
    out += "\n[[registry.mirror]]\nlocation = \"" + proxy.base.authority() + "\"\n";
    if (!proxy.base.tls()) out += "insecure = true\n";
  }
  return out;
}

std::vector<config_file> setup_files(const setup_options& opts) {
  const fs::path path = opts.path.empty() ? default_path(opts.runtime) : opts.path;
  std::vector<config_file> out;
  if (opts.runtime == "containerd") {
    out.push_back({path / "_default" / "hosts.toml", containerd_hosts_toml(opts.proxy, nullptr)});
    for (const auto& r : opts.registries)
      out.push_back({path / r.name / "hosts.toml", containerd_hosts_toml(opts.proxy, &r)});
  } else if (opts.runtime == "docker") {
    const auto existing = layers::read_small_file(path);
    out.push_back({path, docker_daemon_json(existing.value_or(""), opts.proxy)});
  } else if (opts.runtime == "podman") {
    if (opts.registries.empty())
      throw std::invalid_argument("podman mirrors named registries only: give --registry NAME");
    out.push_back({path, podman_registries_conf(opts.proxy, opts.registries)});
  } else {
    throw std::invalid_argument("unknown runtime '" + opts.runtime + "'");
  }
  return out;
}

std::vector<std::string> write_config_files(const std::vector<config_file>& files) {
  std::vector<std::string> report;
  for (const auto& f : files) {
    const auto existing = layers::read_small_file(f.path);
    if (existing && *existing == f.text) {
      report.push_back(f.path.string() + ": unchanged");
      continue;
    }
    std::error_code ec;
    fs::create_directories(f.path.parent_path(), ec);
    std::string line = f.path.string() + ": written";
    if (existing) {
      const fs::path backup = backup_path(f.path);
      fs::copy_file(f.path, backup, ec);
      if (ec) throw std::runtime_error("cannot back up " + f.path.string() + ": " + ec.message());
      line += " (the old one is in " + backup.string() + ")";
    }
    if (!layers::write_file_atomically(f.path, f.text))
      throw std::runtime_error("cannot write " + f.path.string());
    report.push_back(line);
  }
  return report;
}

int run_setup(const setup_options& opts) {
  const auto files = setup_files(opts);
  if (opts.dry_run) {
    for (const auto& f : files) std::cout << "# " << f.path.string() << "\n" << f.text << "\n";
    return 0;
  }
  for (const auto& line : write_config_files(files)) std::cout << line << "\n";
  if (opts.runtime == "containerd")
    std::cout << "containerd reads these only with config_path set (examples/containerd/"
                 "config-snippet.toml); restart it after changing config.toml\n";
  if (opts.runtime == "docker") std::cout << "restart dockerd to use the mirror\n";
  return 0;
}

}  // namespace rookery::cli
