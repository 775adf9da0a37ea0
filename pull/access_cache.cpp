#include "pull/access_cache.hpp"

#include <algorithm>
#include <vector>

#include "layers/digest.hpp"

namespace rookery::pull {

std::string access_cache::key(const std::string& upstream, const std::string& repository,
                              const std::string& digest, const std::string& authorization) {
  const auto who =
      authorization.empty() ? std::string("anonymous") : layers::digest_of(authorization).hex();
  return upstream + '\n' + repository + '\n' + digest + '\n' + who;
}

access_verdict access_cache::check(const std::string& key) const {
  auto it = allowed_.find(key);
  if (it == allowed_.end()) return access_verdict::unknown;
  return std::chrono::steady_clock::now() - it->second < fresh_for_ ? access_verdict::fresh
                                                                    : access_verdict::stale;
}

void access_cache::allow(const std::string& key) {
  if (capacity_ == 0) return;
  if (allowed_.size() >= capacity_ && !allowed_.contains(key)) {
    // Drop the oldest half: cheap, rare, and keeps memory bounded.
    std::vector<std::chrono::steady_clock::time_point> times;
    times.reserve(allowed_.size());
    for (const auto& [k, t] : allowed_) times.push_back(t);
    std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
    const auto cutoff = times[times.size() / 2];
    std::erase_if(allowed_, [&](const auto& entry) { return entry.second <= cutoff; });
  }
  allowed_[key] = std::chrono::steady_clock::now();
}

}  // namespace rookery::pull
