// `rookery doctor`'s look at a container runtime's configuration: does it really send pulls to
// this host's rookery-proxy? Reads the files `rookery setup` writes (and containerd's
// config.toml, which it does not), never changes them.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "cli/hosts.hpp"

namespace rookery::cli {

enum class check_status { ok, warn, fail };

/// "ok", "warn" or "FAIL".
std::string_view to_string(check_status s);

/// One line of the doctor's report.
struct check_result {
  std::string name;  ///< what was checked, e.g. "containerd hosts.toml (docker.io)"
  check_status status = check_status::ok;
  std::string detail;     ///< what was found, or why it failed
  std::string hint = {};  ///< what to do about it; may be empty
};

/// Where containerd's configuration lives, and what it is.
struct containerd_setup {
  std::filesystem::path config = "/etc/containerd/config.toml";
  /// The hosts directory (certs.d) to read; empty: config_path from `config`.
  std::filesystem::path hosts_dir;
  /// `containerd --version`'s version ("1.6.20~ds1", "2.1.0"); empty when unknown.
  std::string version;
};

/// config.toml sets the CRI registry's config_path (version 2 and 3 layouts), and hosts.toml for
/// each of `registries` (or the `_default` catch-all when none are named) sends pulls and
/// resolves to `proxy`. One result for config.toml, one per registry.
std::vector<check_result> check_containerd(const host& proxy,
                                           const std::vector<std::string>& registries,
                                           const containerd_setup& setup);

/// The hosts.toml containerd would use for `registry` under `hosts_dir` names `proxy` with the
/// pull and resolve capabilities.
check_result check_containerd_hosts(const host& proxy, const std::string& registry,
                                    const std::filesystem::path& hosts_dir);

/// Docker's daemon.json lists `proxy` in registry-mirrors (first), and, for a plain-http proxy,
/// its address in insecure-registries.
check_result check_docker(const host& proxy, const std::filesystem::path& daemon_json);

/// A registries.conf (or drop-in) gives each of `registries` (any registry when none are named)
/// `proxy` as a mirror, marked insecure when the proxy speaks plain http.
check_result check_podman(const host& proxy, const std::vector<std::string>& registries,
                          const std::filesystem::path& registries_conf);

/// The version `containerd --version` prints ("1.6.20~ds1"); empty when it cannot be run.
std::string containerd_version();

}  // namespace rookery::cli
