// What the seeder seeds: blobs fetched from the registry once (their piece hashes computed as
// they stream in), made into torrents, saved and handed to the swarm; whole images walked from
// their manifests; restarts that seed the store again; eviction that stops a torrent before
// its file goes.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "layers/blob_store.hpp"
#include "layers/layer_torrent.hpp"
#include "layers/manifest.hpp"
#include "p2p/metainfo_store.hpp"
#include "p2p/session.hpp"
#include "pull/blob_fetcher.hpp"
#include "pull/stored_blob_verifier.hpp"
#include "pull/upstream.hpp"
#include "seeder/hashing_source.hpp"
#include "seeder/image_walk.hpp"
#include "seeder/tracker.hpp"

namespace rookery::seeder {

struct seeding_options {
  std::vector<std::string> trackers;  ///< announce URLs written into every torrent
  std::string fleet_ca_pem;           ///< made torrents are SSL torrents of this CA; empty: open
  walk_limits walk;                   ///< bounds of the walk from a pushed manifest to its blobs
};

/// A blob being seeded.
struct seeded_blob {
  std::string metainfo;
  layers::info_hash info_hash;
  std::uint64_t size = 0;
};

/// The outcome of ensure(): the seeded blob, or why not (a registry refusal to relay, or ec).
struct seed_result {
  std::shared_ptr<const seeded_blob> blob;
  pull::upstream_refusal refusal;
  std::error_code ec;
};

/// io_context thread only, but evicted() (thread-safe).
class seeding {
 public:
  seeding(boost::asio::io_context& io, layers::blob_store& store, pull::upstream& registry,
          p2p::session& swarm, tracker& trk, seeding_options opts);

  /// Makes sure `d` is seeded, fetching it from `repository` once (concurrent calls share the
  /// fetch) with `authorization` (empty: the seeder's own credentials).
  boost::asio::awaitable<seed_result> ensure(const std::string& repository, const layers::digest& d,
                                             const std::string& authorization);
  /// Seeds every layer and config of an image (and of each child of an index); a JSON summary.
  boost::asio::awaitable<nlohmann::json> seed_image(std::string repository, std::string reference);
  /// Seeds again every stored blob: from its saved metainfo (no hashing), else by hashing it.
  boost::asio::awaitable<void> restore();
  /// The store is about to evict `d`: the torrent stops first. Thread-safe (the store's hook).
  void evicted(const layers::digest& d);
  /// Whether the stored blob behind `blob` may be served as its digest (the web seed): hashed
  /// once before its first serve since start. A blob that does not match is quarantined and no
  /// longer seeded; the next ensure() fetches it from the registry again.
  boost::asio::awaitable<bool> verify_stored(const layers::blob_store::lease& blob);

  std::shared_ptr<const seeded_blob> find(const layers::digest& d) const;
  const std::unordered_map<layers::digest, std::shared_ptr<const seeded_blob>>& all() const {
    return seeded_;
  }
  const pull::fetch_counters& fetches() const noexcept { return fetcher_.counters(); }
  std::size_t fetches_in_flight() const noexcept { return fetcher_.inflight(); }

 private:
  /// A torrent for `d`, which is in the store: from the piece hashes of its fetch if any,
  /// else by reading it once.
  boost::asio::awaitable<std::optional<layers::layer_torrent>> make_torrent(const layers::digest& d,
                                                                            std::error_code& ec);
  /// Stops seeding `d` at once: torrent, tracker entry and saved metainfo go.
  void stop_seeding(const layers::digest& d);
  std::shared_ptr<const seeded_blob> start_seeding(const layers::digest& d, std::string metainfo,
                                                   std::error_code& ec);

  boost::asio::io_context& io_;
  layers::blob_store& store_;
  pull::upstream& registry_;
  p2p::session& swarm_;
  tracker& tracker_;
  seeding_options opts_;
  p2p::metainfo_store saved_;
  boost::asio::thread_pool disk_{1};
  hashing_source source_;
  pull::blob_fetcher fetcher_;
  pull::stored_blob_verifier verifier_;
  std::unordered_map<layers::digest, std::shared_ptr<const seeded_blob>> seeded_;
};

}  // namespace rookery::seeder
