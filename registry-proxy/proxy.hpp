// rookery-proxy's request handling: the OCI pull API on top of the blob store, the pull::upstream
// registries and the blob fetcher.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "http/secret.hpp"
#include "http/server.hpp"
#include "layers/blob_store.hpp"
#include "layers/manifest.hpp"
#include "p2p/session.hpp"
#include "pull/access_cache.hpp"
#include "pull/blob_fetcher.hpp"
#include "pull/prefetcher.hpp"
#include "pull/stored_blob_verifier.hpp"
#include "pull/upstream.hpp"
#include "registry-proxy/metrics.hpp"
#include "registry-proxy/prewarm.hpp"
#include "registry-proxy/routes.hpp"
#include "registry-proxy/swarm_source.hpp"
#include "registry-proxy/tag_cache.hpp"

namespace rookery::proxy {

struct proxy_options {
  std::chrono::seconds access_fresh{60};  ///< how long an pull::upstream "may read" stays trusted
  /// Start fetching an image's blobs when its manifest is served: runtimes pull every blob
  /// of the image they resolved, and the swarm does best with all of them at once.
  bool prefetch = true;
  /// For the detailed /v1/status (digests of what this host holds); unset: counts only.
  http::secret operator_token;
  /// Blob fetches talking to a source at once; later ones wait their turn (0: no limit).
  std::size_t max_fetches = pull::blob_fetcher::default_max_fetches;
  pull::prefetch_options prefetch_limits;  ///< prefetches at once, and waiting
  /// Prefetches and prewarms start one after another (pull/fetch_stagger.hpp).
  pull::stagger_options stagger;
  /// Tag freshness: a tag resolved within this long is answered from the cache while upstream
  /// cannot be reached (0: never; every tag asks upstream).
  std::chrono::seconds tag_stale{0};
};

/// Owns the proxy's state; handle() is the http::server handler. io_context thread only.
class registry_proxy {
 public:
  registry_proxy(boost::asio::io_context& io, layers::blob_store& blobs,
                 layers::blob_store& manifests,
                 std::vector<std::unique_ptr<pull::upstream>> upstreams, pull::blob_source& source,
                 proxy_options opts, p2p::session* swarm = nullptr,
                 const swarm_source* swarm_src = nullptr);

  boost::asio::awaitable<void> handle(http::exchange& ex);

 private:
  enum class access { allowed, refused, unavailable };

  boost::asio::awaitable<void> handle_base(http::exchange& ex, pull::upstream& up);
  boost::asio::awaitable<void> handle_manifest(http::exchange& ex, pull::upstream& up,
                                               const route& r);
  /// Answers from the manifest cache (after the client's access check); false when the
  /// manifest is not cached and pull::upstream must be asked.
  boost::asio::awaitable<bool> serve_cached_manifest(http::exchange& ex, pull::upstream& up,
                                                     const route& r,
                                                     const std::string& authorization);
  /// Upstream could not be reached for a tag: answers the tag's last resolution when the
  /// freshness policy allows it (marked with Rookery-Stale-Tag), else an error saying why.
  boost::asio::awaitable<void> answer_tag_unreachable(http::exchange& ex, pull::upstream& up,
                                                      const route& r,
                                                      const std::string& authorization,
                                                      std::string detail);
  /// Serves a tag's cached manifest when this client may read it; false when it may not, or
  /// the manifest is no longer cached intact.
  boost::asio::awaitable<bool> serve_stale_tag(http::exchange& ex, pull::upstream& up,
                                               const route& r, const std::string& authorization,
                                               const tag_cache::resolution& resolved);
  /// Records what a tag resolved to upstream (for the freshness policy).
  void remember_tag(pull::upstream& up, const route& r, const std::string& digest);
  /// POST /v1/gc (operator token): evicts cached blobs down to the budget or a target.
  boost::asio::awaitable<void> handle_gc(http::exchange& ex);
  /// Keeps a verified manifest under its digest (for digest-pinned pulls while pull::upstream is
  /// down).
  void store_manifest(const layers::digest& d, const std::string& body);
  /// 405 UNSUPPORTED with `Allow: GET, HEAD`: pushes and deletes on the pull API.
  boost::asio::awaitable<void> refuse_method(http::exchange& ex);
  boost::asio::awaitable<void> handle_blob(http::exchange& ex, pull::upstream& up, const route& r);
  boost::asio::awaitable<void> serve_cached_blob(http::exchange& ex,
                                                 layers::blob_store::lease& blob);
  boost::asio::awaitable<void> serve_manifest(http::exchange& ex, const std::string& body,
                                              const std::string& content_type,
                                              const std::string& digest);
  /// Hashes a cached blob not verified since start (on the disk pool); quarantines it when
  /// bad. True when it may be served.
  boost::asio::awaitable<bool> verify_cached(const layers::blob_store::lease& blob);
  boost::asio::awaitable<void> head_blob_upstream(http::exchange& ex, pull::upstream& up,
                                                  const route& r);
  boost::asio::awaitable<access> confirm_access(pull::upstream& up, const route& r,
                                                const char* kind, const std::string& authorization,
                                                pull::upstream_refusal& refusal);
  /// confirm_access, answering the client itself when access is refused or unknowable.
  boost::asio::awaitable<bool> check_access(http::exchange& ex, pull::upstream& up, const route& r,
                                            const char* kind, const std::string& authorization);
  /// Starts fetches of the config and layers of an image manifest this client just read.
  void prefetch(pull::upstream& up, const std::string& repository, const layers::manifest& manifest,
                const std::string& authorization);
  /// POST /v1/prewarm and GET /v1/prewarm/{id}.
  boost::asio::awaitable<void> handle_prewarm(http::exchange& ex, const route& r);
  /// POST /v1/prewarm: resolves the image with the caller's credentials, starts (or joins) its
  /// prewarm and answers 202 with the id.
  boost::asio::awaitable<void> start_prewarm(http::exchange& ex);
  pull::upstream* select_upstream(const std::string& ns);
  /// The histogram a request of this kind is timed into; null for kinds not timed.
  std::shared_ptr<http::latency_histogram> latency_of(route_kind kind, bool read);
  std::string metrics_text() const;
  /// What the swarm adds to /metrics; nullopt without a swarm.
  std::optional<metrics::swarm_figures> swarm_figures() const;
  std::string status_json(bool detailed) const;

  boost::asio::io_context& io_;
  layers::blob_store& blobs_;
  layers::blob_store& manifests_;
  std::vector<std::unique_ptr<pull::upstream>> upstreams_;
  proxy_options opts_;
  metrics metrics_;
  pull::access_cache access_;
  boost::asio::thread_pool disk_{1};
  pull::blob_source& source_;
  p2p::session* swarm_;               ///< null without P2P
  const swarm_source* swarm_source_;  ///< null without P2P
  pull::blob_fetcher fetcher_;
  pull::fetch_stagger stagger_;
  pull::prefetcher prefetcher_;
  pull::stored_blob_verifier verifier_;
  prewarmer prewarm_;
  tag_cache tags_;
};

}  // namespace rookery::proxy
