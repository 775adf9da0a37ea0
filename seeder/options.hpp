// rookery-seeder's command line, parsed into one config the rest of the program reads.
#pragma once

#include <filesystem>
#include <string>
#include <variant>

#include "p2p/session.hpp"
#include "pull/upstream.hpp"
#include "seeder/api.hpp"
#include "seeder/seeding.hpp"
#include "seeder/tracker.hpp"

namespace rookery::seeder {

struct seeder_config {
  boost::asio::ip::tcp::endpoint listen;
  std::string public_url;  ///< how hosts reach this seeder (tracker URL, logs)
  pull::upstream_config registry;
  std::filesystem::path store;
  std::uint64_t budget_bytes = 0;
  bool fsck = false;  ///< hash every stored blob at start, quarantine the bad ones
  p2p::session_options session;
  tracker_options tracker;
  seeding_options seeding;
  api_options api;
  std::string log_level = "info";
};

/// Parses rookery-seeder's flags (and ROOKERY_REGISTRY_CREDENTIALS, ROOKERY_OPERATOR_TOKEN,
/// ROOKERY_NOTIFY_SECRET). Returns the config, or the exit status after printing help (0) or
/// what was wrong (2).
std::variant<seeder_config, int> parse_options(int argc, const char* const* argv);

}  // namespace rookery::seeder
