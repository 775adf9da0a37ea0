// The proxy's counters, shown on /metrics (Prometheus text) and /v1/status.
#pragma once

#include <cstdint>
#include <string>

#include "pull/blob_fetcher.hpp"

namespace rookery::proxy {

/// Plain counters: only the proxy's io_context thread touches them.
struct metrics {
  std::uint64_t requests = 0;
  std::uint64_t blob_cache_hits = 0;
  std::uint64_t blob_cache_misses = 0;
  std::uint64_t blob_prefetches = 0;
  std::uint64_t blob_bytes_from_cache = 0;  ///< cached blobs sent to clients
  std::uint64_t manifest_upstream_requests = 0;
  std::uint64_t manifest_cache_hits = 0;
  std::uint64_t upstream_errors = 0;
  std::uint64_t access_checks = 0;  ///< upstream confirmations asked for cached content

  /// Prometheus text exposition format, with the fetcher's and blob source's counters and
  /// the store's gauges.
  std::string prometheus(const pull::fetch_counters& fetches, const pull::source_bytes& sources,
                         std::uint64_t store_bytes, std::uint64_t store_blobs,
                         std::uint64_t inflight) const;
};

}  // namespace rookery::proxy
