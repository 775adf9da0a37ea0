#include "cli/progress.hpp"

#include <cmath>
#include <cstdio>

namespace rookery::cli {
namespace {

std::uint64_t number(const nlohmann::json& doc, const char* key) {
  const auto it = doc.find(key);
  if (it == doc.end()) return 0;
  if (it->is_number_unsigned()) return it->get<std::uint64_t>();
  return it->is_number_integer() && it->get<std::int64_t>() > 0 ? it->get<std::uint64_t>() : 0;
}

std::string format(const char* pattern, double value, const char* unit) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value, unit);
  return text;
}

double rate_of(std::uint64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / seconds : 0;
}

// "  peers 12.3 MiB  upstream 1.00 MiB  cached 4.00 MiB"
std::string sources(std::uint64_t peers, std::uint64_t upstream, std::uint64_t cached) {
  std::string out = "  peers " + human_bytes(peers) + "  upstream " + human_bytes(upstream);
  if (cached) out += "  cached " + human_bytes(cached);
  return out;
}

// "  ETA 46s" while running, "  done 6s" when finished.
std::string timing(bool finished, double seconds, double rate, std::uint64_t left) {
  if (finished) return "  done " + human_duration(seconds);
  return "  ETA " + human_duration(rate > 0 ? static_cast<double>(left) / rate : -1);
}

}  // namespace

void host_progress::apply(const nlohmann::json& event) {
  if (!event.is_object()) return;
  if (const auto t = event.find("totals"); t != event.end() && t->is_object()) {
    bytes = number(*t, "bytes");
    total_bytes = number(*t, "total_bytes");
    from_peers = number(*t, "from_peers");
    from_upstream = number(*t, "from_upstream");
    cached = number(*t, "cached");
    blobs = number(*t, "blobs");
    blobs_done = number(*t, "blobs_done");
    blobs_failed = number(*t, "blobs_failed");
    if (const auto s = t->find("seconds"); s != t->end() && s->is_number()) seconds = *s;
  }
  const std::string kind = event.value("event", "");
  if (kind == "done") {
    state = phase::done;
  } else if (kind == "failed") {
    state = phase::failed;
    error = event.contains("error") && event["error"].is_string() ? event["error"] : "failed";
  } else if (state == phase::starting) {
    state = phase::running;
  }
}

void host_progress::fail(std::string why) {
  if (finished()) return;
  state = phase::failed;
  error = std::move(why);
}

std::string human_bytes(std::uint64_t bytes) {
  static const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 3) value /= 1024, ++unit;
  return format(value < 10 ? "%.2f %s" : value < 100 ? "%.1f %s" : "%.0f %s", value, units[unit]);
}

std::string human_duration(double seconds) {
  if (!(seconds >= 0) || std::isinf(seconds)) return "--";
  const auto s = static_cast<std::uint64_t>(std::llround(seconds));
  char text[32];
  if (s < 60) {
    std::snprintf(text, sizeof text, "%us", static_cast<unsigned>(s));
  } else if (s < 3600) {
    std::snprintf(text, sizeof text, "%um%02us", static_cast<unsigned>(s / 60),
                  static_cast<unsigned>(s % 60));
  } else {
    std::snprintf(text, sizeof text, "%lluh%02um", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned>(s % 3600 / 60));
  }
  return text;
}

std::string progress_bar(double fraction, int width) {
  if (!(fraction >= 0)) fraction = 0;
  if (fraction > 1) fraction = 1;
  const int filled = static_cast<int>(fraction * width);
  return "[" + std::string(filled, '#') + std::string(width - filled, ' ') + "]";
}

std::string host_line(const host_progress& p, std::size_t name_width) {
  std::string name = p.host;
  if (name.size() < name_width) name.append(name_width - name.size(), ' ');
  const double fraction =
      p.total_bytes ? static_cast<double>(p.bytes) / static_cast<double>(p.total_bytes) : 0;
  const std::string head =
      name + " " + progress_bar(p.state == host_progress::phase::done ? 1 : fraction, 24);
  if (p.state == host_progress::phase::failed) return head + " FAILED: " + p.error;
  if (p.state == host_progress::phase::starting) return head + " starting";
  const double rate = rate_of(p.bytes > p.cached ? p.bytes - p.cached : 0, p.seconds);
  const std::uint64_t left = p.total_bytes > p.bytes ? p.total_bytes - p.bytes : 0;
  return head + format(" %3.0f%s", fraction * 100, "%") + "  " + human_bytes(p.bytes) + "/" +
         human_bytes(p.total_bytes) + "  " + human_bytes(static_cast<std::uint64_t>(rate)) + "/s" +
         timing(p.state == host_progress::phase::done, p.seconds, rate, left) +
         sources(p.from_peers, p.from_upstream, p.cached);
}

nlohmann::json total_json(const std::vector<host_progress>& hosts, double elapsed) {
  nlohmann::json failed = nlohmann::json::array();
  std::uint64_t bytes = 0, total = 0, peers = 0, upstream = 0, cached = 0, done = 0;
  for (const auto& h : hosts) {
    bytes += h.bytes, total += h.total_bytes, peers += h.from_peers;
    upstream += h.from_upstream, cached += h.cached;
    if (h.state == host_progress::phase::done) ++done;
    if (h.state == host_progress::phase::failed)
      failed.push_back({{"host", h.host}, {"error", h.error}});
  }
  return {{"event", "total"},    {"hosts", hosts.size()},
          {"hosts_done", done},  {"failed", failed},
          {"bytes", bytes},      {"total_bytes", total},
          {"from_peers", peers}, {"from_upstream", upstream},
          {"cached", cached},    {"seconds", std::round(elapsed * 1000) / 1000}};
}

std::string total_line(const std::vector<host_progress>& hosts, double elapsed) {
  const auto t = total_json(hosts, elapsed);
  const std::uint64_t bytes = t["bytes"], total = t["total_bytes"], cached = t["cached"];
  const double rate = rate_of(bytes > cached ? bytes - cached : 0, elapsed);
  const std::uint64_t left = total > bytes ? total - bytes : 0;
  const std::size_t done = t["hosts_done"], failed = t["failed"].size();
  std::string line = "total  " + std::to_string(done) + "/" + std::to_string(hosts.size()) +
                     " hosts done  " + human_bytes(bytes) + "/" + human_bytes(total) + "  " +
                     human_bytes(static_cast<std::uint64_t>(rate)) + "/s" +
                     timing(done + failed == hosts.size(), elapsed, rate, left) +
                     sources(t["from_peers"], t["from_upstream"], cached);
  if (failed) line += "  " + std::to_string(failed) + " failed";
  return line;
}

}  // namespace rookery::cli
