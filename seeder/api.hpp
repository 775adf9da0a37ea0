// rookery-seeder's HTTP API: the tracker, metainfo and the web seed after the registry's
// access check, push notifications (with the registry's shared secret) and the operator's
// endpoints (with the operator token), metrics and status.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "http/prometheus.hpp"
#include "http/secret.hpp"
#include "http/server.hpp"
#include "pull/access_cache.hpp"
#include "pull/upstream.hpp"
#include "seeder/notifications.hpp"
#include "seeder/seeding.hpp"
#include "seeder/tracker.hpp"

namespace rookery::seeder {

struct api_options {
  std::chrono::seconds access_fresh{30};  ///< how long a registry "may read" is reused
  http::secret operator_token;    ///< for /v1/seed and the detailed /v1/status; unset: nobody
  http::secret notify_secret;     ///< the registry's notifications carry it; unset: refused
  std::size_t image_seeds = 2;    ///< images seeded at once from notifications
  std::size_t image_queue = 256;  ///< images waiting; a notification beyond it gets 429
};

/// handle() is the http::server handler. io_context thread only.
class api {
 public:
  api(boost::asio::io_context& io, layers::blob_store& store, pull::upstream& registry,
      p2p::session& swarm, tracker& trk, seeding& seeds, api_options opts);

  boost::asio::awaitable<void> handle(http::exchange& ex);

 private:
  boost::asio::awaitable<void> handle_notifications(http::exchange& ex);
  boost::asio::awaitable<void> handle_blob(http::exchange& ex, std::string rest);
  boost::asio::awaitable<void> send_metainfo(http::exchange& ex, const layers::digest& d);
  boost::asio::awaitable<void> handle_seed(http::exchange& ex);
  /// Answers 401 and returns false unless the request carries the operator token.
  boost::asio::awaitable<bool> require_operator(http::exchange& ex);
  /// Whether the registry lets this caller (its Authorization) read blob `d` in the repository
  /// named by ?repo=; answers the caller itself when not.
  boost::asio::awaitable<bool> authorize_read(http::exchange& ex, const layers::digest& d);
  /// Starts queued image seeds while slots are free.
  void start_queued_images();

  /// The histogram a request to `path` is timed into; null for paths not timed.
  std::shared_ptr<http::latency_histogram> latency_of(std::string_view path);
  std::string metrics_text() const;
  std::string status_json(bool detailed) const;

  boost::asio::io_context& io_;
  layers::blob_store& store_;
  pull::upstream& registry_;
  p2p::session& swarm_;
  tracker& tracker_;
  seeding& seeds_;
  api_options opts_;
  pull::access_cache access_;
  image_queue images_;
  std::uint64_t notifications_ = 0;
  std::uint64_t notifications_coalesced_ = 0;
  std::uint64_t notifications_refused_ = 0;
  std::uint64_t web_seed_bytes_ = 0;
  std::uint64_t torrents_served_ = 0;
  /// From a request's arrival to its last byte sent.
  // Shared with the timers of requests in flight (see http::latency_timer).
  std::shared_ptr<http::latency_histogram> metainfo_latency_ =
      std::make_shared<http::latency_histogram>();
  std::shared_ptr<http::latency_histogram> announce_latency_ =
      std::make_shared<http::latency_histogram>();
  std::shared_ptr<http::latency_histogram> web_seed_latency_ =
      std::make_shared<http::latency_histogram>();
};

}  // namespace rookery::seeder
