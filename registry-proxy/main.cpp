// rookery-proxy: a pull-through OCI registry mirror for one host.
#include <spdlog/spdlog.h>
#include <atomic>
#include <boost/asio/io_context.hpp>

#include "app/command_line.hpp"
#include "http/server.hpp"
#include "layers/blob_store.hpp"
#include "layers/store_check.hpp"
#include "p2p/session.hpp"
#include "pull/blob_source.hpp"
#include "registry-proxy/options.hpp"
#include "registry-proxy/proxy.hpp"
#include "registry-proxy/swarm_source.hpp"

namespace {

using namespace rookery;

// --fsck: a blob that does not hash to its name is quarantined before anyone is served.
void check_stores(layers::blob_store& blobs, layers::blob_store& manifests) {
  for (auto* store : {&blobs, &manifests}) {
    const auto report = layers::check_store(*store);
    for (const auto& d : report.quarantined)
      spdlog::warn("store check: {} does not match its content, moved to {}", d.str(),
                   store->quarantine_directory().string());
    spdlog::info("store check of {}: {} verified ({} bytes), {} quarantined",
                 store->root().string(), report.verified, report.bytes_checked,
                 report.quarantined.size());
  }
}

int serve(proxy::proxy_config& config) {
  boost::asio::io_context io(1);
  auto tls = http::make_client_tls_context();
  std::vector<std::unique_ptr<pull::upstream>> upstreams;
  for (auto& c : config.upstreams) {
    spdlog::info("upstream {} → {}{}", c.name.empty() ? "default" : c.name, c.base.str(),
                 c.username.empty() ? "" : " (proxy-side credentials)");
    upstreams.push_back(std::make_unique<pull::upstream>(c, tls, config.client));
  }
  // An evicted blob's torrent stops before its file goes (the swarm source, once there).
  std::atomic<proxy::swarm_source*> evict_to{nullptr};
  // A blob uploading to a peer is not evicted under it (the store asks, from any thread).
  std::atomic<p2p::session*> uploads{nullptr};
  layers::blob_store::options store_options{config.store / "blobs", config.budget_bytes,
                                            [&evict_to](const layers::digest& d) {
                                              if (auto* s = evict_to.load()) s->evicted(d);
                                            }};
  store_options.in_use = [&uploads](const layers::digest& d) {
    auto* s = uploads.load();
    return s && s->uploading(d);
  };
  layers::blob_store blobs(std::move(store_options));
  layers::blob_store manifests({config.store / "manifests", 0, {}});
  if (config.fsck) check_stores(blobs, manifests);
  // Missing blobs come from the swarm when a seeder is configured, else from upstream.
  std::unique_ptr<p2p::session> swarm;
  std::unique_ptr<pull::blob_source> source = std::make_unique<pull::upstream_blob_source>();
  const proxy::swarm_source* swarm_src = nullptr;
  if (config.swarm) {
    const auto& s = *config.swarm;
    swarm = std::make_unique<p2p::session>(io, s.session);
    uploads = swarm.get();
    auto swarm_source = std::make_unique<proxy::swarm_source>(
        tls, *swarm, blobs,
        proxy::swarm_options{s.seeder, s.fronts, config.store / "swarm", s.metainfo_timeout,
                             s.stall, config.access_fresh});
    spdlog::info("swarm via seeder {}, BitTorrent port {}{}, {} cached blobs seeded again",
                 s.seeder.str(), swarm->listen_port(), swarm->fleet() ? " (TLS, fleet only)" : "",
                 swarm_source->restore());
    evict_to = swarm_source.get();
    swarm_src = swarm_source.get();
    source = std::move(swarm_source);
  }
  proxy::proxy_options options;
  options.access_fresh = config.access_fresh;
  options.prefetch = config.prefetch;
  options.operator_token = std::move(config.operator_token);
  options.max_fetches = config.max_fetches;
  options.prefetch_limits = {config.max_prefetches, config.prefetch_queue};
  options.stagger.share = config.prefetch_stagger;
  options.tag_stale = config.tag_stale;
  proxy::registry_proxy handler(io, blobs, manifests, std::move(upstreams), *source,
                                std::move(options), swarm.get(), swarm_src);
  http::server server(io, config.listen, [&](http::exchange& ex) { return handler.handle(ex); });
  server.start();
  spdlog::info("rookery-proxy serving on {}:{} ({} cached blobs, {} bytes)",
               server.local_endpoint().address().to_string(), server.local_endpoint().port(),
               blobs.blob_count(), blobs.total_bytes());
  app::run_until_signal(io);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return app::daemon_main<proxy::proxy_config>(argc, argv, "rookery-proxy", proxy::parse_options,
                                               serve);
}
