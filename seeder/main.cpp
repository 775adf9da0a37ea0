// rookery-seeder: seeds every layer of the registry beside it, runs the tracker, hands out
// metainfo to hosts that may read a layer.
#include <utility>  // before Asio: Boost 1.74 needs std::exchange

#include <spdlog/spdlog.h>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "app/command_line.hpp"
#include "http/server.hpp"
#include "layers/blob_store.hpp"
#include "layers/store_check.hpp"
#include "p2p/session.hpp"
#include "seeder/api.hpp"
#include "seeder/options.hpp"
#include "seeder/seeding.hpp"
#include "seeder/tracker.hpp"

namespace {

using namespace rookery;

// --fsck: a blob that does not hash to its name is quarantined before it is seeded.
void check_stored_blobs(layers::blob_store& store) {
  const auto report = layers::check_store(store);
  for (const auto& d : report.quarantined)
    spdlog::warn("store check: {} does not match its content, moved to {}", d.str(),
                 store.quarantine_directory().string());
  spdlog::info("store check of {}: {} verified ({} bytes), {} quarantined", store.root().string(),
               report.verified, report.bytes_checked, report.quarantined.size());
}

int serve(seeder::seeder_config& config) {
  boost::asio::io_context io(1);
  auto tls = http::make_client_tls_context();
  pull::upstream registry(config.registry, tls, http::client_options{});
  // An evicted blob stops being seeded before its file goes (once seeding exists).
  std::atomic<seeder::seeding*> evict_to{nullptr};
  // Nor is a blob that is uploading to a host evicted under it.
  std::atomic<p2p::session*> uploads{nullptr};
  layers::blob_store::options store_options{config.store, config.budget_bytes,
                                            [&evict_to](const layers::digest& d) {
                                              if (auto* s = evict_to.load()) s->evicted(d);
                                            }};
  store_options.in_use = [&uploads](const layers::digest& d) {
    auto* s = uploads.load();
    return s && s->uploading(d);
  };
  layers::blob_store store(std::move(store_options));
  if (config.fsck) check_stored_blobs(store);
  p2p::session swarm(io, config.session);
  uploads = &swarm;
  seeder::tracker trk(config.tracker);
  seeder::seeding seeds(io, store, registry, swarm, trk, config.seeding);
  evict_to = &seeds;
  if (!config.api.notify_secret.configured())
    spdlog::warn("no notification secret: registry notifications will be refused");
  seeder::api handler(io, store, registry, swarm, trk, seeds, std::move(config.api));
  http::server_options server_opts;
  server_opts.body_limit = 1024 * 1024;  // a registry envelope holds a handful of events
  http::server server(
      io, config.listen, [&](http::exchange& ex) { return handler.handle(ex); }, server_opts);
  server.start();
  boost::asio::co_spawn(io, seeds.restore(), boost::asio::detached);
  spdlog::info("rookery-seeder on {} (public {}), registry {}, BitTorrent port {}{}",
               server.local_endpoint().address().to_string() + ":" +
                   std::to_string(server.local_endpoint().port()),
               config.public_url, config.registry.base.str(), swarm.listen_port(),
               swarm.fleet() ? " (TLS, fleet only)" : "");
  app::run_until_signal(io);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return app::daemon_main<seeder::seeder_config>(argc, argv, "rookery-seeder",
                                                 seeder::parse_options, serve);
}
