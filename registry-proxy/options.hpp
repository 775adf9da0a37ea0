// rookery-proxy's command line, parsed into one config the rest of the program reads.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "http/client.hpp"
#include "http/secret.hpp"
#include "p2p/session.hpp"
#include "pull/fetch_stagger.hpp"
#include "pull/upstream.hpp"

namespace rookery::proxy {

struct swarm_config {
  http::url seeder;                 ///< rookery-seeder's base URL
  std::vector<std::string> fronts;  ///< upstream names whose layers come from the swarm
  p2p::session_options session;
  std::chrono::milliseconds stall{15000};
  std::chrono::milliseconds metainfo_timeout{20000};
};

struct proxy_config {
  boost::asio::ip::tcp::endpoint listen;
  std::filesystem::path store;
  std::uint64_t budget_bytes = 0;
  std::vector<pull::upstream_config> upstreams;  ///< the default one has an empty name
  http::client_options client;
  std::chrono::seconds access_fresh{60};
  bool prefetch = true;
  bool fsck = false;                  ///< hash every cached blob at start, quarantine the bad ones
  std::size_t max_fetches = 16;       ///< blob fetches from a source at once; more wait
  std::size_t max_prefetches = 8;     ///< prefetch fetches at once
  std::size_t prefetch_queue = 1024;  ///< prefetches waiting; more are dropped
  /// Prefetches and prewarms start one after another: pull::stagger_options::share.
  /// --prefetch-stagger; without it swarm_prefetch_stagger with a seeder, else 0 (a registry
  /// alone gains nothing from the order, and may serve blobs faster side by side).
  double prefetch_stagger = 0;
  http::secret operator_token;
  std::string log_level = "info";
  std::optional<swarm_config> swarm;  ///< without a seeder: upstream only
  /// Tag freshness policy: tags resolved within this long are answered from the cache while
  /// upstream is unreachable (0: off).
  std::chrono::seconds tag_stale{0};
};

/// The prefetch stagger of a proxy with a seeder, unless --prefetch-stagger says otherwise: 16
/// hosts on the testbed finished in 1.36-1.37x the link limit with it, 1.42-1.45x without.
constexpr double swarm_prefetch_stagger = 0.2;

/// Parses rookery-proxy's flags (and ROOKERY_UPSTREAM_CREDENTIALS, ROOKERY_OPERATOR_TOKEN).
/// Returns the config, or the exit status after printing help (0) or what was wrong (2).
std::variant<proxy_config, int> parse_options(int argc, const char* const* argv);

}  // namespace rookery::proxy
