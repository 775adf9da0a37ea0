// Prewarm progress as the CLI shows it: each host's state from its proxy's progress events,
// and the text (a bar per host and a total line) or JSON that reports it. No I/O here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace rookery::cli {

/// One host's prewarm as its events told it.
struct host_progress {
  enum class phase { starting, running, done, failed };

  std::string host;
  phase state = phase::starting;
  std::string error;  ///< when failed
  std::uint64_t bytes = 0, total_bytes = 0, from_peers = 0, from_upstream = 0, cached = 0;
  std::uint64_t blobs = 0, blobs_done = 0, blobs_failed = 0;
  double seconds = 0;  ///< since the proxy started the prewarm

  /// Takes a progress event (its "totals", and the final "done"/"failed").
  void apply(const nlohmann::json& event);
  /// Marks the host failed (unless it finished already).
  void fail(std::string why);
  bool finished() const { return state == phase::done || state == phase::failed; }
};

/// "0 B", "512 B", "1.5 KiB", "23.4 MiB", "1.02 GiB".
std::string human_bytes(std::uint64_t bytes);
/// "3s", "1m05s", "2h03m"; "--" for a negative or unknown duration.
std::string human_duration(double seconds);
/// A bar `width` characters wide between brackets, `fraction` of it filled ('#').
std::string progress_bar(double fraction, int width);

/// One terminal line for a host: name, bar, percent, bytes, rate, ETA, peers vs upstream.
std::string host_line(const host_progress& p, std::size_t name_width);
/// The total line over all hosts; `elapsed` seconds since the CLI started.
std::string total_line(const std::vector<host_progress>& hosts, double elapsed);
/// The total as a JSON object: {"event":"total", hosts, failed:[{host,error}], bytes, ...}.
nlohmann::json total_json(const std::vector<host_progress>& hosts, double elapsed);

}  // namespace rookery::cli
