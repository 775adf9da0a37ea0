#include "registry-proxy/metrics.hpp"

#include "http/prometheus.hpp"
#include "pull/blob_source.hpp"

namespace rookery::proxy {
namespace {

void write_blob_counters(http::prometheus_text& out, const metrics& m,
                         const pull::fetch_counters& fetches, const pull::source_bytes& sources) {
  out.counter("blob_cache_hits_total", "Blob requests served from the local store.",
              m.blob_cache_hits);
  out.counter("blob_cache_misses_total", "Blob requests that needed a fetch.", m.blob_cache_misses);
  out.counter("blob_prefetches_total",
              "Blob fetches started because a client read the image's manifest.",
              m.blob_prefetches);
  out.counter("blob_bytes_served_total", "Blob bytes sent to clients.",
              m.blob_bytes_from_cache + fetches.bytes_streamed);
  out.counter("blob_bytes_from_cache_total", "Blob bytes sent to clients from the local store.",
              m.blob_bytes_from_cache);
  out.counter("blob_bytes_from_peers_total",
              "Blob bytes received from the swarm (other hosts and the seeder).", sources.peers);
  out.counter("blob_bytes_from_upstream_total", "Blob bytes fetched from upstream registries.",
              sources.upstream);
  out.counter("blob_bytes_stored_in_place_total",
              "Fetched blob bytes the store kept in the file the swarm wrote them to (no copy).",
              fetches.bytes_in_place);
  out.counter("blob_fetches_total", "Blob fetches started for missing blobs.", fetches.fetches);
  out.counter("blob_fetches_joined_total", "Blob requests that joined an in-flight fetch.",
              fetches.joined);
  out.counter("blob_fetch_failures_total", "Blob fetches that failed or did not verify.",
              fetches.failures);
}

void write_swarm(http::prometheus_text& out, const metrics::swarm_figures& swarm) {
  out.counter("swarm_uploaded_bytes_total", "Payload bytes this host sent to other hosts.",
              swarm.uploaded);
  out.counter("swarm_redundant_bytes_total",
              "Payload bytes received from peers that this host already had (duplicate "
              "requests near the end of a download).",
              swarm.redundant);
  out.counters("swarm_end_game_requests_total",
               "Second requests for a block already on its way from another peer (the end of "
               "a download): held back, and of those never sent because the block came.",
               "outcome", {{"held", swarm.end_game_held}, {"spared", swarm.end_game_spared}});
  out.counter("swarm_hash_failures_total", "Pieces from peers that failed their hash check.",
              swarm.hash_failures);
  out.counter("swarm_peers_banned_total", "Peers banned for sending corrupt data.",
              swarm.peers_banned);
  out.gauge("swarm_torrents", "Torrents this host downloads or seeds.", swarm.torrents);
  out.gauge("swarm_peers", "Peer connections, summed over this host's torrents.", swarm.peers);
  out.counters("swarm_fallbacks_total",
               "Blob fetches of the swarm's registry that took bytes from upstream instead: "
               "no_torrent (the seeder refused or did not answer), fill (the swarm stalled: the "
               "pieces this host lacked, fed into the swarm), stall (the rest of a blob after "
               "the swarm stalled again or failed).",
               "reason",
               {{"no_torrent", swarm.fallbacks_no_torrent},
                {"fill", swarm.fallbacks_filled},
                {"stall", swarm.fallbacks_stalled}});
  if (swarm.metainfo_latency)
    out.histograms("seeder_metainfo_duration_seconds",
                   "Time a metainfo request to the seeder took (all tries of one fetch).", "route",
                   {{"metainfo", swarm.metainfo_latency}});
}

}  // namespace

std::string metrics::prometheus(const pull::fetch_counters& fetches,
                                const pull::source_bytes& sources, std::uint64_t store_bytes,
                                std::uint64_t store_blobs, std::uint64_t inflight,
                                const std::optional<swarm_figures>& swarm,
                                const bound_figures& bounds) const {
  http::prometheus_text out("rookery_proxy_");
  out.counter("requests_total", "HTTP requests received.", requests);
  out.histograms("request_duration_seconds",
                 "Time from a request's arrival to its last byte sent, by route.", "route",
                 {{"manifest", manifest_latency.get()}, {"blob", blob_latency.get()}});
  write_blob_counters(out, *this, fetches, sources);
  out.counter("manifest_upstream_requests_total", "Manifest requests sent upstream.",
              manifest_upstream_requests);
  out.counter("manifest_cache_hits_total", "Manifests by digest served from the store.",
              manifest_cache_hits);
  out.counter("upstream_errors_total", "Upstream requests that failed to connect or answer.",
              upstream_errors + fetches.source_errors);
  out.counter("upstream_resumes_total",
              "Upstream blob bodies that broke off and were asked for again from there.",
              pull::upstream_resumes());
  out.counter("access_checks_total", "Upstream confirmations of a client's read access.",
              access_checks);
  out.counter("blob_verifications_total",
              "Cached blobs found at start that were hashed before their first serve.",
              blob_verifications);
  out.counter("stale_tag_answers_total",
              "Tags answered from the cache (Rookery-Stale-Tag) while upstream was unreachable.",
              stale_tag_answers);
  out.counter("stale_tag_refusals_total",
              "Tags refused while upstream was unreachable (none resolved recently enough).",
              stale_tag_refusals);
  out.counter("gc_runs_total", "Garbage collections asked for on POST /v1/gc.", gc_runs);
  out.counter("gc_freed_bytes_total", "Blob bytes evicted by POST /v1/gc.", gc_freed_bytes);
  out.gauge("store_bytes", "Bytes of verified blobs in the local store.", store_bytes);
  out.gauge("store_blobs", "Verified blobs in the local store.", store_blobs);
  out.gauge("inflight_fetches", "Blob fetches in progress.", inflight);
  out.counter("blob_fetches_queued_total", "Blob fetches that waited for a free place.",
              fetches.queued);
  out.gauge("queued_fetches", "Blob fetches waiting for a free place.", bounds.fetches_waiting);
  out.gauge("queued_prefetches", "Prefetches waiting for a free place.", bounds.prefetches_waiting);
  out.counter("blob_prefetches_dropped_total",
              "Prefetches not started because the prefetch queue was full.",
              bounds.prefetches_dropped);
  out.counter("store_quarantined_total",
              "Cached blobs that failed a check and were moved to quarantine.", bounds.quarantined);
  if (swarm) write_swarm(out, *swarm);
  return out.str();
}

}  // namespace rookery::proxy
