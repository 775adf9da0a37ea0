#include "pull/token_cache.hpp"

#include <algorithm>

namespace rookery::pull {

std::optional<std::string> token_cache::token(const std::string& key, clock::time_point now) const {
  auto it = tokens_.find(key);
  if (it == tokens_.end() || it->second.expires <= now) return std::nullopt;
  return it->second.value;
}

void token_cache::put_token(const std::string& key, std::string value, clock::time_point expires,
                            clock::time_point now) {
  if (capacity_ == 0) return;
  if (!tokens_.contains(key) && tokens_.size() >= capacity_) {
    std::erase_if(tokens_, [now](const auto& entry) { return entry.second.expires <= now; });
    if (tokens_.size() >= capacity_) {
      tokens_.erase(std::min_element(
          tokens_.begin(), tokens_.end(),
          [](const auto& a, const auto& b) { return a.second.expires < b.second.expires; }));
    }
  }
  tokens_[key] = token_entry{std::move(value), expires};
}

std::optional<std::string> token_cache::challenge(const std::string& repository) const {
  auto it = challenges_.find(repository);
  if (it == challenges_.end()) return std::nullopt;
  return it->second.value;
}

void token_cache::put_challenge(const std::string& repository, std::string challenge) {
  if (capacity_ == 0) return;
  if (!challenges_.contains(repository) && challenges_.size() >= capacity_) {
    challenges_.erase(std::min_element(
        challenges_.begin(), challenges_.end(),
        [](const auto& a, const auto& b) { return a.second.stored < b.second.stored; }));
  }
  challenges_[repository] = challenge_entry{std::move(challenge), ++clock_};
}

}  // namespace rookery::pull
