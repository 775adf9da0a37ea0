// rookery-seeder: seeds every layer of the registry beside it, runs the tracker, hands out
// metainfo to hosts that may read a layer.
#include <utility>  // before Asio: Boost 1.74 needs std::exchange

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "http/server.hpp"
#include "pull/upstream.hpp"
#include "layers/blob_store.hpp"
#include "p2p/session.hpp"
#include "seeder/seeder.hpp"
#include "seeder/tracker.hpp"

namespace {

boost::asio::ip::tcp::endpoint parse_listen(const std::string& text) {
  auto endpoint = rookery::http::parse_endpoint(text);
  if (!endpoint)
    throw CLI::ValidationError("--listen", "expected ADDRESS:PORT, got '" + text + "'");
  return *endpoint;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace rookery;
  CLI::App app{
      "rookery-seeder: seeds a registry's layers to a BitTorrent swarm of rookery-proxy hosts"};
  std::string listen = "0.0.0.0:5060", registry_url, credentials,
              store_dir = "/var/lib/rookery/seeder";
  std::string public_url, bt_listen = "0.0.0.0:6881", log_level = "info";
  std::vector<std::string> trackers;
  int upload_limit_kib = 0, announce_interval = 15, unchoke_slots = 4, request_queue = 250;
  app.add_option("--listen", listen, "address:port of the HTTP API, tracker and web seed")
      ->capture_default_str();
  app.add_option("--registry", registry_url, "the registry to seed, http(s)://host[:port]")
      ->required();
  app.add_option("--registry-credentials", credentials,
                 "USER:PASSWORD for the registry (or ROOKERY_REGISTRY_CREDENTIALS)");
  app.add_option("--store", store_dir, "where seeded blobs live")->capture_default_str();
  app.add_option("--public-url", public_url,
                 "how hosts reach this seeder (default: http://LISTEN)");
  app.add_option("--tracker", trackers,
                 "an external tracker announce URL instead of the built-in one");
  app.add_option("--bt-listen", bt_listen, "BitTorrent listen interface")->capture_default_str();
  app.add_option("--upload-limit-kib", upload_limit_kib, "upload rate limit in KiB/s (0: none)")
      ->capture_default_str();
  app.add_option("--unchoke-slots", unchoke_slots, "hosts uploaded to at once (rotated)")
      ->capture_default_str();
  app.add_option("--request-queue", request_queue,
                 "16 KiB blocks one host may have requested from the seeder at once")
      ->capture_default_str();
  app.add_option("--announce-interval", announce_interval, "seconds between tracker announces")
      ->capture_default_str();
  std::string operator_token_file, notify_secret_file;
  std::uint64_t budget_mib = 0;
  std::size_t image_seeds = 2;
  app.add_option("--operator-token-file", operator_token_file,
                 "file holding the operator token for /v1/seed and detailed /v1/status (or "
                 "ROOKERY_OPERATOR_TOKEN); without one those answer 401");
  app.add_option("--notify-secret-file", notify_secret_file,
                 "file holding the secret the registry sends with notifications as "
                 "'Authorization: Bearer SECRET' (or ROOKERY_NOTIFY_SECRET); without one "
                 "notifications are refused");
  app.add_option("--store-budget-mib", budget_mib,
                 "evict least-recently-used blobs (and stop seeding them) above this (0: never)")
      ->capture_default_str();
  std::size_t image_queue = 256;
  app.add_option("--image-seeds", image_seeds, "images seeded at once from notifications")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--image-queue", image_queue,
                 "images waiting to be seeded; a notification beyond it is answered 429")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  std::string fleet_ca, fleet_cert, fleet_key;
  std::vector<std::string> peer_allow;
  app.add_option("--fleet-ca", fleet_ca,
                 "fleet CA certificate (PEM): BitTorrent over TLS with fleet members only");
  app.add_option("--fleet-cert", fleet_cert, "this host's certificate, signed by the fleet CA");
  app.add_option("--fleet-key", fleet_key, "this host's private key (PEM)");
  app.add_option("--peer-allow", peer_allow,
                 "network (CIDR) whose peers may connect; repeat; default: any");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  pull::upstream_config registry;
  boost::asio::ip::tcp::endpoint endpoint;
  try {
    app.parse(argc, argv);
    endpoint = parse_listen(listen);
    auto url = http::url::parse(registry_url);
    if (!url || url->target != "/")
      throw CLI::ValidationError("--registry", "expected http(s)://host[:port]");
    registry.base = *url;
    if (const char* env = std::getenv("ROOKERY_REGISTRY_CREDENTIALS"); env && credentials.empty())
      credentials = env;
    if (!credentials.empty()) {
      const auto colon = credentials.find(':');
      if (colon == std::string::npos)
        throw CLI::ValidationError("--registry-credentials", "expected USER:PASSWORD");
      registry.username = credentials.substr(0, colon);
      registry.password = credentials.substr(colon + 1);
    }
    if (public_url.empty()) public_url = "http://" + listen;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  spdlog::set_level(spdlog::level::from_str(log_level));

  try {
    boost::asio::io_context io(1);
    auto tls = http::make_client_tls_context();
    pull::upstream registry_client(registry, tls, http::client_options{});
    seeder::seeder_options opts;
    opts.public_url = public_url;
    opts.trackers = trackers;
    opts.operator_token = http::secret::load(operator_token_file, "ROOKERY_OPERATOR_TOKEN");
    opts.notify_secret = http::secret::load(notify_secret_file, "ROOKERY_NOTIFY_SECRET");
    opts.image_seeds = image_seeds;
    opts.image_queue = image_queue;
    if (!opts.notify_secret.configured())
      spdlog::warn("no notification secret: registry notifications will be refused");
    // An evicted blob stops being seeded before its file goes (the handler, once it exists).
    std::atomic<seeder::seeder*> evict_to{nullptr};
    layers::blob_store store(
        {store_dir, budget_mib * 1024 * 1024, [&evict_to](const layers::digest& d) {
           if (auto* s = evict_to.load()) s->evicted(d);
         }});
    p2p::session_options swarm_opts;
    swarm_opts.listen = bt_listen;
    swarm_opts.peer_allow = peer_allow;
    p2p::load_fleet(swarm_opts, fleet_ca, fleet_cert, fleet_key);
    swarm_opts.upload_rate_limit = upload_limit_kib * 1024;
    swarm_opts.seeder = true;
    swarm_opts.unchoke_slots = unchoke_slots;
    swarm_opts.origin_request_queue = request_queue;
    p2p::session swarm(io, swarm_opts);
    seeder::tracker trk(seeder::tracker_options{
        std::chrono::seconds(announce_interval),
        std::chrono::seconds(std::max(1, announce_interval / 3)), 5000, 200});
    opts.fleet_ca_pem = swarm_opts.fleet_ca_pem;
    seeder::seeder handler(io, store, registry_client, swarm, trk, std::move(opts));
    evict_to = &handler;
    http::server_options server_opts;
    server_opts.body_limit = 1024 * 1024;  // a registry envelope holds a handful of events
    http::server server(
        io, endpoint, [&](http::exchange& ex) { return handler.handle(ex); }, server_opts);
    server.start();
    boost::asio::co_spawn(io, handler.restore(), boost::asio::detached);
    spdlog::info("rookery-seeder on {} (public {}), registry {}, BitTorrent port {}", listen,
                 public_url, registry.base.str(), swarm.listen_port());
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) { io.stop(); });
    io.run();
  } catch (const std::exception& e) {
    spdlog::critical("rookery-seeder: {}", e.what());
    return 2;
  }
  return 0;
}
