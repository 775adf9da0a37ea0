// `rookery status`: the /v1/status of proxies and seeders as one table (or JSON lines).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/hosts.hpp"

namespace rookery::cli {

struct status_options {
  std::vector<host> hosts;    ///< proxies and seeders; which is which comes from their answer
  std::string authorization;  ///< "Bearer <operator token>" for the detailed status; may be empty
  bool json = false;
};

/// The table's header row.
std::vector<std::string> status_header();
/// One row from a proxy's or a seeder's /v1/status answer ("-" where it says nothing).
std::vector<std::string> status_row(const std::string& host, const nlohmann::json& status);
/// Rows as columns separated by two spaces, each as wide as its widest cell.
std::string format_table(const std::vector<std::vector<std::string>>& rows);

/// Runs the command; the exit status (1 when a host did not answer).
int run_status(const status_options& opts);

}  // namespace rookery::cli
