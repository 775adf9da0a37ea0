// What an upstream remembers to log in with proxy-side credentials: Bearer tokens by
// realm|service|scope until they expire, and the last challenge seen per repository. Both are
// keyed by what clients ask for (any repository name), so both are bounded.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace rookery::pull {

/// Single-threaded (the upstream's io_context).
class token_cache {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::size_t default_capacity = 1024;

  /// At most `capacity` tokens and `capacity` challenges.
  explicit token_cache(std::size_t capacity = default_capacity) : capacity_(capacity) {}

  /// The token stored under `key`, unless it expired by `now`.
  std::optional<std::string> token(const std::string& key,
                                   clock::time_point now = clock::now()) const;
  /// Stores a token; when full, expired tokens go first, then the one that expires soonest.
  void put_token(const std::string& key, std::string value, clock::time_point expires,
                 clock::time_point now = clock::now());

  /// The last challenge stored for `repository`.
  std::optional<std::string> challenge(const std::string& repository) const;
  /// Stores a challenge; when full, the challenge stored longest ago goes.
  void put_challenge(const std::string& repository, std::string challenge);

  std::size_t token_count() const noexcept { return tokens_.size(); }
  std::size_t challenge_count() const noexcept { return challenges_.size(); }

 private:
  struct token_entry {
    std::string value;
    clock::time_point expires;
  };
  struct challenge_entry {
    std::string value;
    std::uint64_t stored = 0;  ///< insertion order
  };

  std::size_t capacity_;
  std::uint64_t clock_ = 0;
  std::unordered_map<std::string, token_entry> tokens_;
  std::unordered_map<std::string, challenge_entry> challenges_;
};

}  // namespace rookery::pull
