// The proxy's counters, shown on /metrics (Prometheus text) and /v1/status.
#pragma once

#include <cstdint>
#include <string>

namespace rookery::proxy {

/// Plain counters: only the proxy's io_context thread touches them.
struct metrics {
  std::uint64_t requests = 0;
  std::uint64_t blob_cache_hits = 0;
  std::uint64_t blob_cache_misses = 0;
  std::uint64_t blob_bytes_served = 0;         ///< to clients, all sources
  std::uint64_t blob_bytes_from_upstream = 0;  ///< fetched from upstream registries
  std::uint64_t blob_fetches_from_upstream = 0;
  std::uint64_t blob_fetches_joined = 0;       ///< requests that shared an in-flight fetch
  std::uint64_t blob_fetch_failures = 0;
  std::uint64_t manifest_upstream_requests = 0;
  std::uint64_t manifest_cache_hits = 0;
  std::uint64_t upstream_errors = 0;
  std::uint64_t access_checks = 0;             ///< upstream confirmations asked for cached content

  /// Prometheus text exposition format, with the store's gauges appended.
  std::string prometheus(std::uint64_t store_bytes, std::uint64_t store_blobs,
                         std::uint64_t inflight) const;
};

}  // namespace rookery::proxy
