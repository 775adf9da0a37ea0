// rookery-seeder's request handling: push notifications, metainfo on demand (after the registry
// confirmed the caller may read), the web seed, the tracker, and the seeding itself.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "pull/access_cache.hpp"
#include "pull/blob_fetcher.hpp"
#include "http/secret.hpp"
#include "http/server.hpp"
#include "pull/upstream.hpp"
#include "layers/blob_store.hpp"
#include "layers/manifest.hpp"
#include "p2p/session.hpp"
#include "seeder/hashing_source.hpp"
#include "seeder/tracker.hpp"

namespace rookery::seeder {

namespace asio = boost::asio;

struct seeder_options {
  std::string public_url;             ///< how peers reach this seeder, e.g. http://198.18.0.1:5060
  std::vector<std::string> trackers;  ///< external trackers; empty: the built-in one
  std::chrono::seconds access_fresh{30};
  std::string fleet_ca_pem;       ///< made torrents are SSL torrents of this fleet CA; empty: open
  http::secret operator_token;    ///< for /v1/seed and the detailed /v1/status; unset: nobody
  http::secret notify_secret;     ///< the registry's notifications carry it; unset: refused
  std::size_t image_seeds = 2;    ///< images seeded at once from notifications
  std::size_t image_queue = 256;  ///< images waiting; a notification beyond it gets 429
};

/// Owns the seeder's state; handle() is the http::server handler. io_context thread only.
class seeder {
 public:
  seeder(asio::io_context& io, layers::blob_store& store, pull::upstream& registry,
         p2p::session& swarm, tracker& trk, seeder_options opts);

  /// Seeds again every stored blob: from its saved metainfo when there is one (no hashing),
  /// else by hashing it.
  asio::awaitable<void> restore();
  asio::awaitable<void> handle(http::exchange& ex);
  /// The store is about to evict `d`: stop seeding it first. Thread-safe (the store's hook).
  void evicted(const layers::digest& d);

 private:
  struct seeded {
    std::string metainfo;
    std::string info_hash;  ///< hex
    std::uint64_t size = 0;
  };
  struct pending {
    explicit pending(asio::io_context& io) : done(io, asio::steady_timer::time_point::max()) {}
    asio::steady_timer done;
    std::shared_ptr<const seeded> result;
    std::error_code error;
    pull::upstream_refusal refusal;
    bool finished = false;
  };

  /// Makes sure `d` is seeded (fetching it from the registry once if needed) and returns it.
  asio::awaitable<std::shared_ptr<const seeded>> ensure(const std::string& repository,
                                                        const layers::digest& d,
                                                        const std::string& authorization,
                                                        pull::upstream_refusal& refusal,
                                                        std::error_code& ec);
  asio::awaitable<std::shared_ptr<const seeded>> make_seeded(const std::string& repository,
                                                             const layers::digest& d,
                                                             const std::string& authorization,
                                                             pull::upstream_refusal& refusal,
                                                             std::error_code& ec);
  std::shared_ptr<const seeded> start_seeding(const layers::digest& d, std::string metainfo,
                                              std::error_code& ec);
  /// Seeds every layer and config of an image (and of each child of an index). Returns a
  /// JSON summary.
  asio::awaitable<nlohmann::json> seed_image(std::string repository, std::string reference);
  asio::awaitable<std::optional<layers::manifest>> fetch_manifest(const std::string& repository,
                                                                  const std::string& reference,
                                                                  std::string& why);

  asio::awaitable<void> handle_notifications(http::exchange& ex);
  asio::awaitable<void> handle_blob(http::exchange& ex, std::string rest);
  asio::awaitable<void> handle_seed(http::exchange& ex);
  /// Answers 401 and returns false unless the request carries the operator token.
  asio::awaitable<bool> require_operator(http::exchange& ex);
  /// Whether the registry lets this caller (its Authorization) read blob `d` in the
  /// repository named by ?repo=; answers the caller itself when not.
  asio::awaitable<bool> authorize_read(http::exchange& ex, const layers::digest& d);

  enum class queued { added, coalesced, full };
  /// Queues a seed of repository@reference from a notification; at most opts_.image_seeds run.
  queued enqueue_image(const std::string& repository, const std::string& reference);
  void start_queued_images();

  std::string metrics_text() const;
  std::string status_json(bool detailed) const;
  std::filesystem::path metainfo_path(const layers::digest& d) const;

  asio::io_context& io_;
  layers::blob_store& store_;
  pull::upstream& registry_;
  p2p::session& swarm_;
  tracker& tracker_;
  seeder_options opts_;
  asio::thread_pool disk_{1};
  hashing_source source_;
  pull::blob_fetcher fetcher_;
  pull::access_cache access_;
  std::unordered_map<layers::digest, std::shared_ptr<const seeded>> seeded_;
  std::unordered_map<layers::digest, std::shared_ptr<pending>> pending_;
  struct image_ref {
    std::string repository, reference;
  };
  std::deque<image_ref> image_queue_;
  std::unordered_set<std::string> images_pending_;  ///< "repository@reference", queued or running
  std::size_t image_seeds_running_ = 0;
  std::size_t image_seeds_peak_ = 0;
  std::uint64_t notifications_ = 0;
  std::uint64_t notifications_coalesced_ = 0;
  std::uint64_t notifications_refused_ = 0;
  std::uint64_t web_seed_bytes_ = 0;
  std::uint64_t torrents_served_ = 0;
};

}  // namespace rookery::seeder
