// rookery-proxy's request handling: the OCI pull API on top of the blob store, the upstream
// registries and the blob fetcher.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "http/secret.hpp"
#include "http/server.hpp"
#include "layers/blob_store.hpp"
#include "layers/manifest.hpp"
#include "p2p/session.hpp"
#include "pull/access_cache.hpp"
#include "pull/blob_fetcher.hpp"
#include "pull/upstream.hpp"
#include "registry-proxy/metrics.hpp"
#include "registry-proxy/routes.hpp"

namespace rookery::proxy {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using pull::access_cache;
using pull::access_verdict;
using pull::blob_fetcher;
using pull::blob_request;
using pull::blob_source;
using pull::fetch;
using pull::upstream;
using pull::upstream_call;
using pull::upstream_refusal;

struct proxy_options {
  std::chrono::seconds access_fresh{60};  ///< how long an upstream "may read" stays trusted
  /// Start fetching an image's blobs when its manifest is served: runtimes pull every blob
  /// of the image they resolved, and the swarm does best with all of them at once.
  bool prefetch = true;
  /// For the detailed /v1/status (digests of what this host holds); unset: counts only.
  http::secret operator_token;
};

/// Owns the proxy's state; handle() is the http::server handler. io_context thread only.
class registry_proxy {
 public:
  registry_proxy(asio::io_context& io, layers::blob_store& blobs, layers::blob_store& manifests,
                 std::vector<std::unique_ptr<upstream>> upstreams, blob_source& source,
                 proxy_options opts, p2p::session* swarm = nullptr);

  asio::awaitable<void> handle(http::exchange& ex);

 private:
  enum class access { allowed, refused, unavailable };

  asio::awaitable<void> handle_base(http::exchange& ex, upstream& up);
  asio::awaitable<void> handle_manifest(http::exchange& ex, upstream& up, const route& r);
  /// Answers from the manifest cache (after the client's access check); false when the
  /// manifest is not cached and upstream must be asked.
  asio::awaitable<bool> serve_cached_manifest(http::exchange& ex, upstream& up, const route& r,
                                              const std::string& authorization);
  /// Keeps a verified manifest under its digest (for digest-pinned pulls while upstream is down).
  void store_manifest(const layers::digest& d, const std::string& body);
  asio::awaitable<void> handle_blob(http::exchange& ex, upstream& up, const route& r);
  asio::awaitable<void> serve_cached_blob(http::exchange& ex, layers::blob_store::lease& blob);
  asio::awaitable<void> serve_manifest(http::exchange& ex, const std::string& body,
                                       const std::string& content_type, const std::string& digest);
  asio::awaitable<void> head_blob_upstream(http::exchange& ex, upstream& up, const route& r);
  asio::awaitable<access> confirm_access(upstream& up, const route& r, const char* kind,
                                         const std::string& authorization,
                                         upstream_refusal& refusal);
  /// confirm_access, answering the client itself when access is refused or unknowable.
  asio::awaitable<bool> check_access(http::exchange& ex, upstream& up, const route& r,
                                     const char* kind, const std::string& authorization);
  /// Starts fetches of the config and layers of an image manifest this client just read.
  void prefetch(upstream& up, const std::string& repository, const layers::manifest& manifest,
                const std::string& authorization);
  asio::awaitable<void> prefetch_blob(blob_request request);
  upstream* select_upstream(const std::string& ns);
  std::string status_json(bool detailed) const;

  asio::io_context& io_;
  layers::blob_store& blobs_;
  layers::blob_store& manifests_;
  std::vector<std::unique_ptr<upstream>> upstreams_;
  proxy_options opts_;
  metrics metrics_;
  access_cache access_;
  asio::thread_pool disk_{1};
  blob_source& source_;
  p2p::session* swarm_;  ///< null without P2P
  blob_fetcher fetcher_;
};

}  // namespace rookery::proxy
