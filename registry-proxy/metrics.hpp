// The proxy's counters, shown on /metrics (Prometheus text) and /v1/status.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "http/prometheus.hpp"
#include "pull/blob_fetcher.hpp"

namespace rookery::proxy {

/// Plain counters: only the proxy's io_context thread touches them. The histograms are
/// lock-free and may be observed from any thread.
struct metrics {
  std::uint64_t requests = 0;
  std::uint64_t blob_cache_hits = 0;
  std::uint64_t blob_cache_misses = 0;
  std::uint64_t blob_prefetches = 0;
  std::uint64_t blob_bytes_from_cache = 0;  ///< cached blobs sent to clients
  std::uint64_t manifest_upstream_requests = 0;
  std::uint64_t manifest_cache_hits = 0;
  std::uint64_t upstream_errors = 0;
  std::uint64_t access_checks = 0;       ///< upstream confirmations asked for cached content
  std::uint64_t blob_verifications = 0;  ///< cached blobs hashed before their first serve
  std::uint64_t stale_tag_answers = 0;   ///< tags answered from the cache while upstream was down
  std::uint64_t stale_tag_refusals = 0;  ///< tags refused while upstream was down
  std::uint64_t gc_runs = 0;             ///< POST /v1/gc passes
  std::uint64_t gc_freed_bytes = 0;      ///< bytes those passes evicted
  /// From a request's arrival to its last byte sent, for GET and HEAD of manifests and blobs.
  std::shared_ptr<http::latency_histogram> manifest_latency =
      std::make_shared<http::latency_histogram>();
  std::shared_ptr<http::latency_histogram> blob_latency =
      std::make_shared<http::latency_histogram>();

  /// What the swarm adds, when there is one.
  struct swarm_figures {
    std::uint64_t uploaded = 0;         ///< payload sent to other hosts
    std::uint64_t redundant = 0;        ///< payload received twice
    std::uint64_t end_game_held = 0;    ///< second requests held back in the end game
    std::uint64_t end_game_spared = 0;  ///< ... and never sent: the block came meanwhile
    std::uint64_t hash_failures = 0;    ///< pieces from peers that failed their check
    std::uint64_t peers_banned = 0;     ///< peers banned for corrupt data
    std::uint64_t torrents = 0;
    std::uint64_t peers = 0;                 ///< peer connections summed over torrents
    std::uint64_t fallbacks_no_torrent = 0;  ///< seeder refused or unreachable: all from upstream
    std::uint64_t fallbacks_filled = 0;      ///< the swarm stalled: missing pieces from upstream
    std::uint64_t fallbacks_stalled = 0;     ///< the swarm stalled mid-blob: upstream sent the rest
    const http::latency_histogram* metainfo_latency = nullptr;  ///< requests to the seeder
  };

  /// Where work waits its turn, and what the store threw out.
  struct bound_figures {
    std::uint64_t fetches_waiting = 0;     ///< fetches queued for a free place now
    std::uint64_t prefetches_waiting = 0;  ///< prefetches queued now
    std::uint64_t prefetches_dropped = 0;  ///< prefetches not queued: the queue was full
    std::uint64_t quarantined = 0;         ///< blobs that failed a check
  };

  /// Prometheus text exposition format, with the fetcher's and blob source's counters, the
  /// store's gauges and the swarm's figures.
  std::string prometheus(const pull::fetch_counters& fetches, const pull::source_bytes& sources,
                         std::uint64_t store_bytes, std::uint64_t store_blobs,
                         std::uint64_t inflight, const std::optional<swarm_figures>& swarm,
                         const bound_figures& bounds) const;
};

}  // namespace rookery::proxy
