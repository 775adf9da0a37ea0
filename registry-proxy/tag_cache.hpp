// The tag freshness policy's memory: which manifest digest each tag last resolved to upstream,
// and when. While upstream cannot be reached, a tag resolved within the window is answered from
// the manifest cache (--tag-stale-seconds); it is never consulted while upstream answers.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>

#include "layers/digest.hpp"

namespace rookery::proxy {

/// Single-threaded (the proxy's io_context). Bounded: at most `capacity` tags; when full, the
/// longest-unresolved tag goes first.
class tag_cache {
 public:
  using clock = std::chrono::steady_clock;

  struct resolution {
    layers::digest digest;
    clock::time_point at;
  };

  /// `window` 0 turns the policy off: nothing is remembered.
  explicit tag_cache(std::chrono::seconds window, std::size_t capacity = 10000)
      : window_(window), capacity_(capacity) {}

  bool enabled() const noexcept { return window_.count() > 0; }
  std::chrono::seconds window() const noexcept { return window_; }

  /// The key of (upstream, repository, tag).
  static std::string key(const std::string& upstream, const std::string& repository,
                         const std::string& tag);

  /// Upstream just said `key` is `d`.
  void remember(const std::string& key, const layers::digest& d, clock::time_point now);
  /// The last resolution of `key`, however old; nullopt when none is known.
  std::optional<resolution> find(const std::string& key) const;
  /// Whether a resolution at `at` may still be answered at `now`.
  bool usable(const resolution& r, clock::time_point now) const noexcept {
    return enabled() && now - r.at <= window_;
  }
  std::size_t size() const noexcept { return tags_.size(); }

 private:
  void make_room();

  std::chrono::seconds window_;
  std::size_t capacity_;
  std::unordered_map<std::string, resolution> tags_;
};

}  // namespace rookery::proxy
