// Pre-warming: an operator (the `rookery prewarm` CLI) asks the proxy to bring every blob of an
// image into its store before any runtime pulls it. The image is resolved upstream with the
// caller's credentials (an index to one platform's manifest), then its config and layers go
// through the same blob_fetcher as pulls do (so through the swarm where the seeder fronts the
// upstream), a few at a time. Progress is kept as JSON lines that any number of followers
// replay from the start; a prewarm of an image already being warmed joins it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/server.hpp"
#include "layers/blob_store.hpp"
#include "layers/manifest.hpp"
#include "pull/blob_fetcher.hpp"
#include "pull/fetch_stagger.hpp"
#include "pull/refusal.hpp"
#include "pull/upstream.hpp"

namespace rookery::proxy {

/// The body of `POST /v1/prewarm`.
struct prewarm_request {
  std::string repository;
  std::string reference;      ///< a tag or a digest
  layers::platform platform;  ///< the host's unless the request names one
  std::string ns;             ///< the upstream, as containerd's ?ns= names it; empty: default
};

/// Parses `{"image": "repo:tag" | "repo@digest", "platform": "os/arch[/variant]", "ns": "..."}`
/// (platform and ns optional); nullopt with the reason in `why`.
std::optional<prewarm_request> parse_prewarm_request(std::string_view body, std::string& why);

/// An image resolved upstream: the manifests read on the way (to cache) and the blobs to warm.
struct resolved_image {
  /// The image manifest (the platform's, when the reference named an index); unset on failure.
  std::optional<layers::digest> manifest;
  std::vector<std::pair<layers::digest, std::string>> manifests;  ///< verified bodies read
  std::vector<layers::descriptor> blobs;                          ///< config, then layers
  pull::upstream_refusal refusal;  ///< upstream's answer to relay, when it refused
  std::error_code error;           ///< otherwise, why it failed
  std::string why;                 ///< detail for `error`
};

/// Reads the image's manifest from `up` with `authorization` (the caller's; empty: the
/// proxy's own credentials) and, for an index, the child for `request.platform`.
boost::asio::awaitable<resolved_image> resolve_image(pull::upstream& up,
                                                     const prewarm_request& request,
                                                     const std::string& authorization);

/// One prewarm: its identity, what it warms, and its progress as JSON lines. io_context only.
struct prewarm_job {
  prewarm_job(boost::asio::io_context& io, std::string id_, std::string key_);
  /// Resumes at the next event (or when the job ends).
  boost::asio::awaitable<void> changed();
  /// Appends `event` with the job's totals as one JSON line and wakes the followers.
  void add_event(nlohmann::json event);

  std::string id;
  std::string key;  ///< upstream, repository and manifest digest: what joins
  pull::upstream* from = nullptr;
  std::string repository;
  std::string image;  ///< as asked for, for the events
  std::string authorization;
  std::vector<layers::descriptor> blobs;
  std::vector<std::string> events;                 ///< JSON lines, each ending in '\n'
  std::size_t next_blob = 0;                       ///< the next blob a worker takes
  std::size_t workers = 0;                         ///< running
  std::vector<std::uint64_t> written, from_peers;  ///< per blob
  std::uint64_t cached_bytes = 0;
  std::size_t blobs_done = 0, blobs_failed = 0;
  std::string first_error;
  std::chrono::steady_clock::time_point started;
  std::chrono::steady_clock::time_point last_progress;  ///< of the last progress line kept
  bool finished = false;

 private:
  boost::asio::steady_timer signal_;
};

struct prewarm_limits {
  std::size_t blobs_at_once = 4;  ///< fetches one prewarm runs at the same time
  std::size_t running = 16;       ///< prewarms at once; more are refused (429)
  std::size_t kept = 32;          ///< finished prewarms whose progress can still be read
  /// Lines a prewarm keeps before its progress lines thin out to one per `slow_progress_every`
  /// (started, done and failed lines are never dropped).
  std::size_t events = 2000;
  std::chrono::milliseconds progress_every{250};        ///< per blob
  std::chrono::milliseconds slow_progress_every{5000};  ///< per prewarm, past `events`
};

/// The proxy's prewarms. io_context thread only.
class prewarmer {
 public:
  /// Blob fetches start through the stagger (see pull/fetch_stagger.hpp).
  prewarmer(boost::asio::io_context& io, pull::blob_fetcher& fetcher, layers::blob_store& blobs,
            pull::fetch_stagger& stagger, prewarm_limits limits = {});

  /// What start() did.
  struct started {
    std::shared_ptr<prewarm_job> job;  ///< null when too many prewarms run
    bool joined = false;               ///< the image was already being warmed
  };
  /// Starts warming `image`'s blobs, or joins the prewarm of the same manifest that runs.
  started start(pull::upstream& up, const std::string& repository, const std::string& image,
                const resolved_image& resolved, const std::string& authorization);
  /// The prewarm with this id (running or recently finished), or null.
  std::shared_ptr<prewarm_job> find(std::string_view id) const;
  /// Sends the job's events as chunked JSON lines (application/x-ndjson) until it ends.
  boost::asio::awaitable<void> follow(http::exchange& ex, std::shared_ptr<prewarm_job> job);

  std::size_t running() const noexcept { return running_; }

 private:
  boost::asio::awaitable<void> worker(std::shared_ptr<prewarm_job> job);
  boost::asio::awaitable<void> warm_blob(std::shared_ptr<prewarm_job> job, std::size_t i);
  /// Follows a fetch to its end, reporting progress; the error when it failed.
  boost::asio::awaitable<std::string> watch(std::shared_ptr<prewarm_job> job, std::size_t i,
                                            std::shared_ptr<pull::fetch> f);
  /// A per-blob event; progress lines thin out once the job has said `limits_.events` lines.
  void blob_event(prewarm_job& job, std::size_t i, const char* event,
                  nlohmann::json extra = nlohmann::json::object());
  void finish(prewarm_job& job);
  void forget_old();

  boost::asio::io_context& io_;
  pull::blob_fetcher& fetcher_;
  layers::blob_store& blobs_;
  pull::fetch_stagger& stagger_;
  prewarm_limits limits_;
  std::map<std::string, std::shared_ptr<prewarm_job>, std::less<>> jobs_;  ///< by id
  std::map<std::string, std::string> running_by_key_;                      ///< key → id
  std::deque<std::string> order_;                                          ///< ids, oldest first
  std::size_t running_ = 0;
};

/// Totals of a job so far: bytes, total_bytes, from_peers, from_upstream, cached, blobs...
nlohmann::json prewarm_totals(const prewarm_job& job);

/// A fresh 128-bit id as 32 hex digits (ids are capabilities: progress names digests).
std::string random_prewarm_id();

/// Whether `text` looks like an id random_prewarm_id() made.
bool valid_prewarm_id(std::string_view text);

}  // namespace rookery::proxy
