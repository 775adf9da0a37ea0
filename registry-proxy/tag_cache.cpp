#include "registry-proxy/tag_cache.hpp"

#include <algorithm>

namespace rookery::proxy {

std::string tag_cache::key(const std::string& upstream, const std::string& repository,
                           const std::string& tag) {
  // '|' is in none of the three grammars, so keys cannot collide.
  return upstream + "|" + repository + "|" + tag;
}

void tag_cache::remember(const std::string& key, const layers::digest& d, clock::time_point now) {
  if (!enabled() || capacity_ == 0) return;
  auto it = tags_.find(key);
  if (it != tags_.end()) {
    it->second = resolution{d, now};
    return;
  }
  if (tags_.size() >= capacity_) make_room();
  tags_.emplace(key, resolution{d, now});
}

std::optional<tag_cache::resolution> tag_cache::find(const std::string& key) const {
  auto it = tags_.find(key);
  if (it == tags_.end()) return std::nullopt;
  return it->second;
}

void tag_cache::make_room() {
  auto oldest = std::min_element(tags_.begin(), tags_.end(), [](const auto& a, const auto& b) {
    return a.second.at < b.second.at;
  });
  if (oldest != tags_.end()) tags_.erase(oldest);
}

}  // namespace rookery::proxy
