// `rookery prewarm IMAGE`: asks every listed proxy at once to bring the image's blobs into its
// store (POST /v1/prewarm), follows each one's progress stream and reports it: a live bar per
// host and a total on a terminal, else one JSON line per event; a total line at the end.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "cli/hosts.hpp"

namespace rookery::cli {

struct prewarm_options {
  std::string image;          ///< repository[:tag] or repository@digest
  std::vector<host> proxies;  ///< at least one
  std::string platform;       ///< os/arch[/variant]; empty: each proxy's own
  std::string ns;             ///< the proxies' upstream name; empty: their default upstream
  std::string authorization;  ///< sent to the proxies, which use it upstream; may be empty
  std::chrono::seconds timeout{1800};
  bool json = false;  ///< JSON lines even on a terminal
};

/// The request body each proxy gets.
std::string prewarm_body(const prewarm_options& opts);

/// Runs the prewarm; the exit status (0 when every host finished, 1 when any failed).
int run_prewarm(const prewarm_options& opts);

}  // namespace rookery::cli
