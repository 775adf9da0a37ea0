// `rookery doctor`: checks one host end to end and prints one line per check (ok / warn / FAIL
// with the reason): the runtimes' configuration points at the proxy, the proxy answers, its
// seeder answers, and bytes come from peers ("am I getting P2P hits?"), optionally proven by a
// probe pull through the proxy.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/hosts.hpp"
#include "cli/runtime_check.hpp"

namespace rookery::cli {

struct doctor_options {
  host proxy;                           ///< this host's rookery-proxy
  std::vector<std::string> runtimes;    ///< containerd, docker, podman; empty: none checked
  std::vector<std::string> registries;  ///< registry names the runtimes should mirror
  containerd_setup containerd;
  std::filesystem::path docker_config = "/etc/docker/daemon.json";
  std::filesystem::path podman_config = "/etc/containers/registries.conf.d/rookery.conf";
  std::optional<host> seeder;  ///< default: the seeder the proxy's /v1/status names
  std::string probe;           ///< an image to pull through the proxy; empty: no probe
  std::string ns;              ///< the proxy's upstream for the probe (containerd's ?ns=)
  std::string authorization;   ///< for the probe's registry; may be empty
  std::chrono::seconds timeout{300};
  bool json = false;
};

/// The configuration checks of every runtime in `opts.runtimes` (files only, no network).
std::vector<check_result> runtime_checks(const doctor_options& opts);

/// What the proxy's lifetime counters (its /v1/status) say about P2P.
check_result p2p_check(const nlohmann::json& status);

/// What a probe pull moved, from the proxy's /v1/status before and after it.
struct probe_pull {
  std::string image;
  std::size_t blobs = 0;
  std::uint64_t bytes = 0;  ///< blob bytes the probe received
};
/// The probe's verdict: ok when bytes came from peers, warn when they all came from upstream or
/// everything was cached already.
check_result probe_check(const probe_pull& pull, const nlohmann::json& before,
                         const nlohmann::json& after);

/// One line per check ("ok    NAME: DETAIL"), a hint line under any that has one.
std::string format_report(const std::vector<check_result>& checks);
/// {"ok": bool, "checks": [{"check", "status", "detail", "hint"}]}.
nlohmann::json report_json(const std::vector<check_result>& checks);
/// 1 when any check failed, else 0.
int doctor_exit_status(const std::vector<check_result>& checks);

/// Runs every check and prints the report; the exit status.
int run_doctor(const doctor_options& opts);

}  // namespace rookery::cli
