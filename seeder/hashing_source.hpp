// The seeder's blob source: blobs come from the registry, and their torrent piece hashes are
// computed as the bytes stream in, so seeding needs no second pass over a fresh blob.
#pragma once

#include <memory>
#include <unordered_map>

#include "layers/layer_torrent.hpp"
#include "pull/blob_source.hpp"

namespace rookery::seeder {

class hashing_source final : public pull::blob_source {
 public:
  boost::asio::awaitable<std::unique_ptr<pull::blob_reader>> open(const pull::blob_request& request,
                                                                  pull::upstream_refusal& refusal,
                                                                  std::error_code& ec) override;
  pull::source_bytes bytes() const override { return inner_.bytes(); }
  /// The piece hashes of a blob this source delivered whole, once; null otherwise.
  std::unique_ptr<layers::piece_hasher> take(const layers::digest& d);

 private:
  pull::upstream_blob_source inner_;
  std::unordered_map<layers::digest, std::shared_ptr<layers::piece_hasher>> hashers_;
};

}  // namespace rookery::seeder
