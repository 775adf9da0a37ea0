// `rookery gc --proxy URL [--to MIB]`: each proxy evicts cached blobs down to its
// --cache-budget-mib or the given target (its operator-token POST /v1/gc), passing over blobs
// that clients are reading or peers are downloading.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/hosts.hpp"

namespace rookery::cli {

struct gc_options {
  std::vector<host> proxies;
  std::optional<std::uint64_t> target_mib;  ///< unset: each proxy's own budget
  std::string authorization;                ///< "Bearer <operator token>"
  bool json = false;
};

/// The POST body for a target: `{"target_bytes": N}`, or `{}` for the proxy's budget.
std::string gc_request_body(const std::optional<std::uint64_t>& target_mib);

/// One line for a human from a proxy's /v1/gc answer; empty when the answer lacks a figure.
std::string describe_gc(const std::string& host, const nlohmann::json& report);

/// Runs the command; the exit status (0 when every proxy collected, 1 otherwise).
int run_gc(const gc_options& opts);

}  // namespace rookery::cli
