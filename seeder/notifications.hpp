// The registry's push notifications (distribution's notification envelope): which image
// manifests were pushed, and a bounded queue of images waiting to be seeded.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace rookery::seeder {

/// An image to seed: a repository and a tag or manifest digest.
struct image_ref {
  std::string repository;
  std::string reference;
  friend bool operator==(const image_ref&, const image_ref&) = default;
};

/// The manifest pushes in an envelope (`{"events": [...]}`), skipping other events and
/// malformed entries; nullopt when `body` is not an envelope at all.
std::optional<std::vector<image_ref>> parse_notifications(std::string_view body);

/// Images waiting and being seeded: at most `running_max` at once, `waiting_max` waiting, an
/// image already waiting or running is not queued twice. Single-threaded.
class image_queue {
 public:
  image_queue(std::size_t running_max, std::size_t waiting_max)
      : running_max_(running_max), waiting_max_(waiting_max) {}

  enum class outcome { queued, coalesced, full };
  outcome push(image_ref image);
  /// The next image to seed when a slot is free (it then counts as running).
  std::optional<image_ref> start_next();
  /// A running image is done.
  void finished(const image_ref& image);

  std::size_t running() const noexcept { return running_; }
  std::size_t waiting() const noexcept { return waiting_.size(); }
  /// The most images ever running at once.
  std::size_t peak() const noexcept { return peak_; }

 private:
  static std::string key(const image_ref& image) {
    return image.repository + "@" + image.reference;
  }
  std::size_t running_max_, waiting_max_;
  std::deque<image_ref> waiting_;
  std::unordered_set<std::string> pending_;  ///< keys of images waiting or running
  std::size_t running_ = 0, peak_ = 0;
};

}  // namespace rookery::seeder
