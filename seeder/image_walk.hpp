// The walk from a pushed manifest to the blobs an image needs: an image manifest gives its
// config and layers; an index gives its children, read in turn (an index may list indexes).
// Everything here comes from the registry, so the walk is bounded: how deep indexes nest, how
// many descriptors one manifest may list, and how many manifests one walk reads.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>  // before Asio: Boost 1.74 needs std::exchange
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "layers/manifest.hpp"

namespace rookery::seeder {

struct walk_limits {
  std::size_t max_depth = 4;           ///< levels of index a walk follows (an index of images: 1)
  std::size_t max_descriptors = 1024;  ///< layers (+ config) or children of one manifest
  std::size_t max_manifests = 256;     ///< manifests one walk reads, the first included
};

/// Where the walk reads manifests from (the registry, in the seeder).
class manifest_reader {
 public:
  virtual ~manifest_reader() = default;
  /// The manifest under `reference` (a tag or digest) parsed, or nullopt with a reason in `why`.
  virtual boost::asio::awaitable<std::optional<layers::manifest>> read(const std::string& reference,
                                                                       std::string& why) = 0;
};

/// What a walk found: every distinct blob (config and layers) of every image reached, and the
/// first reason a part was left out (a manifest unreadable, or a limit hit); empty if none.
struct walk_result {
  std::vector<layers::descriptor> blobs;
  std::string error;
  std::size_t manifests_read = 0;
};

/// Walks from `reference` under `limits`. Whatever could be read is in the result even when a
/// part failed. Not thread-safe; `reader` must outlive the walk.
boost::asio::awaitable<walk_result> walk_image(manifest_reader& reader, std::string reference,
                                               walk_limits limits = {});

}  // namespace rookery::seeder
