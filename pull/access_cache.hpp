// Remembers which credentials upstream allowed to read which repository content, so a cached
// blob or manifest is only served to a client upstream would serve it to.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace rookery::pull {

enum class access_verdict {
  unknown,  ///< never confirmed: ask upstream
  fresh,    ///< confirmed within the freshness window: serve
  stale,    ///< confirmed before: serve only while upstream cannot be asked
};

/// Single-threaded (the proxy's io_context). Bounded: at most `capacity` entries.
class access_cache {
 public:
  explicit access_cache(std::chrono::seconds fresh_for, std::size_t capacity = 100000)
      : fresh_for_(fresh_for), capacity_(capacity) {}

  /// The key for (upstream, repository, content digest, credentials). Credentials are hashed,
  /// never kept; anonymous clients share the key of the empty credential.
  static std::string key(const std::string& upstream, const std::string& repository,
                         const std::string& digest, const std::string& authorization);

  access_verdict check(const std::string& key) const;
  void allow(const std::string& key);
  void forget(const std::string& key) { allowed_.erase(key); }

 private:
  std::chrono::seconds fresh_for_;
  std::size_t capacity_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> allowed_;
};

}  // namespace rookery::pull
