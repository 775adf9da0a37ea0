#include "registry-proxy/metrics.hpp"

namespace rookery::proxy {
namespace {

void add(std::string& out, const char* name, const char* type, const char* help,
         std::uint64_t value) {
  out += "# HELP rookery_proxy_";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE rookery_proxy_";
  out += name;
  out += ' ';
  out += type;
  out += "\nrookery_proxy_";
  out += name;
  out += ' ';
  out += std::to_string(value);
  out += '\n';
}

}  // namespace

std::string metrics::prometheus(const pull::fetch_counters& fetches,
                                const pull::source_bytes& sources, std::uint64_t store_bytes,
                                std::uint64_t store_blobs, std::uint64_t inflight) const {
  std::string out;
  add(out, "requests_total", "counter", "HTTP requests received.", requests);
  add(out, "blob_cache_hits_total", "counter", "Blob requests served from the local store.",
      blob_cache_hits);
  add(out, "blob_cache_misses_total", "counter", "Blob requests that needed a fetch.",
      blob_cache_misses);
  add(out, "blob_prefetches_total", "counter",
      "Blob fetches started because a client read the image's manifest.", blob_prefetches);
  add(out, "blob_bytes_served_total", "counter", "Blob bytes sent to clients.",
      blob_bytes_from_cache + fetches.bytes_streamed);
  add(out, "blob_bytes_from_peers_total", "counter",
      "Blob bytes received from the swarm (other hosts and the seeder).", sources.peers);
  add(out, "blob_bytes_from_upstream_total", "counter",
      "Blob bytes fetched from upstream registries.", sources.upstream);
  add(out, "blob_fetches_total", "counter", "Blob fetches started for missing blobs.",
      fetches.fetches);
  add(out, "blob_fetches_joined_total", "counter", "Blob requests that joined an in-flight fetch.",
      fetches.joined);
  add(out, "blob_fetch_failures_total", "counter", "Blob fetches that failed or did not verify.",
      fetches.failures);
  add(out, "manifest_upstream_requests_total", "counter", "Manifest requests sent upstream.",
      manifest_upstream_requests);
  add(out, "manifest_cache_hits_total", "counter", "Manifests by digest served from the store.",
      manifest_cache_hits);
  add(out, "upstream_errors_total", "counter",
      "Upstream requests that failed to connect or answer.",
      upstream_errors + fetches.source_errors);
  add(out, "access_checks_total", "counter", "Upstream confirmations of a client's read access.",
      access_checks);
  add(out, "store_bytes", "gauge", "Bytes of verified blobs in the local store.", store_bytes);
  add(out, "store_blobs", "gauge", "Verified blobs in the local store.", store_blobs);
  add(out, "inflight_fetches", "gauge", "Blob fetches in progress.", inflight);
  return out;
}

}  // namespace rookery::proxy
