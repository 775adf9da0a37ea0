// `rookery seed IMAGE --seeder URL [--wait]`: the seeder seeds an image (its operator-token
// POST /v1/seed); with --wait, tries again until every blob seeds and the seeder's own status
// lists each one, so a CI job can end with it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/hosts.hpp"

namespace rookery::cli {

struct seed_options {
  std::string image;
  host seeder;
  std::string authorization;  ///< "Bearer <operator token>"
  bool wait = false;
  std::chrono::seconds timeout{600};  ///< --wait gives up after this long
  bool json = false;
};

/// The problems a /v1/seed summary reports: its "error" and each blob's ("digest: why").
std::vector<std::string> seed_errors(const nlohmann::json& summary);

/// The digests of a /v1/seed summary that the seeder's detailed /v1/status does not list as
/// seeding yet.
std::vector<std::string> not_seeding(const nlohmann::json& summary, const nlohmann::json& status);

/// Runs the command; the exit status (0 seeded, 1 not).
int run_seed(const seed_options& opts);

}  // namespace rookery::cli
