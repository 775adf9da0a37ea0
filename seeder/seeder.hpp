// rookery-seeder's request handling: push notifications, metainfo on demand (after the registry
// confirmed the caller may read), the web seed, the tracker, and the seeding itself.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/access_cache.hpp"
#include "http/blob_fetcher.hpp"
#include "http/server.hpp"
#include "http/upstream.hpp"
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
};

/// Owns the seeder's state; handle() is the http::server handler. io_context thread only.
class seeder {
 public:
  seeder(asio::io_context& io, layers::blob_store& store, http::upstream& registry,
         p2p::session& swarm, tracker& trk, seeder_options opts);

  /// Seeds again every stored blob: from its saved metainfo when there is one (no hashing),
  /// else by hashing it.
  asio::awaitable<void> restore();
  asio::awaitable<void> handle(http::exchange& ex);

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
    http::upstream_refusal refusal;
    bool finished = false;
  };

  /// Makes sure `d` is seeded (fetching it from the registry once if needed) and returns it.
  asio::awaitable<std::shared_ptr<const seeded>> ensure(const std::string& repository,
                                                        const layers::digest& d,
                                                        const std::string& authorization,
                                                        http::upstream_refusal& refusal,
                                                        std::error_code& ec);
  asio::awaitable<std::shared_ptr<const seeded>> make_seeded(const std::string& repository,
                                                             const layers::digest& d,
                                                             const std::string& authorization,
                                                             http::upstream_refusal& refusal,
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
  asio::awaitable<void> handle_torrent(http::exchange& ex, const std::string& digest_text);
  asio::awaitable<void> handle_seed(http::exchange& ex);
  std::string metrics_text() const;
  std::string status_json() const;
  std::filesystem::path metainfo_path(const layers::digest& d) const;

  asio::io_context& io_;
  layers::blob_store& store_;
  http::upstream& registry_;
  p2p::session& swarm_;
  tracker& tracker_;
  seeder_options opts_;
  asio::thread_pool disk_{1};
  hashing_source source_;
  http::blob_fetcher fetcher_;
  http::access_cache access_;
  std::unordered_map<layers::digest, std::shared_ptr<const seeded>> seeded_;
  std::unordered_map<layers::digest, std::shared_ptr<pending>> pending_;
  std::uint64_t notifications_ = 0;
  std::uint64_t web_seed_bytes_ = 0;
  std::uint64_t torrents_served_ = 0;
};

}  // namespace rookery::seeder
