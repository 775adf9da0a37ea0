#include "seeder/options.hpp"

#include <algorithm>
#include <cstdlib>

#include "app/command_line.hpp"

namespace rookery::seeder {
namespace {

struct raw_flags {
  std::string listen = "0.0.0.0:5060", registry, credentials, store = "/var/lib/rookery/seeder";
  std::string public_url, bt_listen = "0.0.0.0:6881", log_level = "info";
  std::vector<std::string> trackers;
  app::fleet_flags fleet;
  int upload_kib = 0, announce_interval = 15, unchoke_slots = 0, request_queue = 250;
  std::size_t tracker_peers = 5000, tracker_peers_per_address = 16;
  bool deal_pieces = true, fsck = false;
  std::string operator_token_file, notify_secret_file, auth_file;
  std::uint64_t budget_mib = 0;
  std::size_t image_seeds = 2, image_queue = 256;
};

void declare(CLI::App& app, raw_flags& f) {
  app.add_option("--listen", f.listen, "address:port of the HTTP API, tracker and web seed")
      ->capture_default_str();
  app.add_option("--registry", f.registry, "the registry to seed, http(s)://host[:port]")
      ->required();
  app.add_option("--registry-credentials", f.credentials,
                 "USER:PASSWORD for the registry (better: ROOKERY_REGISTRY_CREDENTIALS)");
  app.add_option("--auth-file", f.auth_file,
                 "docker config.json or containers-auth.json: without --registry-credentials, "
                 "log in as its \"auths\" entry for the registry's host (default: "
                 "$REGISTRY_AUTH_FILE)");
  app.add_option("--store", f.store, "where seeded blobs live")->capture_default_str();
  app.add_option("--store-budget-mib", f.budget_mib,
                 "evict least-recently-used blobs (and stop seeding them) above this (0: never)")
      ->capture_default_str();
  app.add_option("--public-url", f.public_url,
                 "how hosts reach this seeder (default: http://LISTEN)");
  app.add_option("--tracker", f.trackers,
                 "an external tracker announce URL instead of the built-in one");
  app.add_option("--bt-listen", f.bt_listen, "BitTorrent listen interface")->capture_default_str();
  app.add_option("--upload-limit-kib", f.upload_kib, "upload rate limit in KiB/s (0: none)")
      ->capture_default_str();
  app.add_option("--deal-pieces", f.deal_pieces,
                 "deal each piece to one host, so each leaves the seeder about once")
      ->capture_default_str();
  app.add_option("--unchoke-slots", f.unchoke_slots,
                 "hosts uploaded to at once (0: all when dealing pieces, else 4, rotated)")
      ->capture_default_str();
  app.add_option("--request-queue", f.request_queue,
                 "16 KiB blocks one host may have requested from the seeder at once")
      ->capture_default_str();
  app.add_option("--announce-interval", f.announce_interval, "seconds between tracker announces")
      ->capture_default_str();
  app.add_flag("--fsck", f.fsck,
               "verify every stored blob against its digest before seeding; bad ones move to "
               "quarantine/ and are fetched from the registry again when a host asks");
  app.add_option("--tracker-peers", f.tracker_peers,
                 "peers the built-in tracker keeps per torrent (the longest silent go first)")
      ->capture_default_str();
  app.add_option("--tracker-peers-per-address", f.tracker_peers_per_address,
                 "peer ids one address may hold per torrent (its own longest silent go first)")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  app.add_option("--operator-token-file", f.operator_token_file,
                 "file holding the operator token for /v1/seed and detailed /v1/status (or "
                 "ROOKERY_OPERATOR_TOKEN); without one those answer 401");
  app.add_option("--notify-secret-file", f.notify_secret_file,
                 "file holding the secret the registry sends with notifications as "
                 "'Authorization: Bearer SECRET' (or ROOKERY_NOTIFY_SECRET); without one "
                 "notifications are refused");
  app.add_option("--image-seeds", f.image_seeds, "images seeded at once from notifications")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--image-queue", f.image_queue,
                 "images waiting to be seeded; a notification beyond it is answered 429")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app::add_fleet_flags(app, f.fleet);
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
}

seeder_config config_of(raw_flags& f, app::parse_mode mode) {
  seeder_config c;
  c.listen = app::listen_endpoint(f.listen, "--listen");
  c.registry = app::upstream_spec(f.registry, "--registry");
  if (!c.registry.name.empty()) throw app::bad_flag("--registry", "expected http(s)://host[:port]");
  if (const char* env = std::getenv("ROOKERY_REGISTRY_CREDENTIALS"); env && f.credentials.empty())
    f.credentials = env;
  if (!f.credentials.empty())
    app::set_credentials(c.registry, f.credentials, "--registry-credentials");
  if (const auto path = app::auth_file_path(f.auth_file);
      mode == app::parse_mode::run && !path.empty()) {
    std::vector<pull::upstream_config> registries{c.registry};
    app::apply_auth_file(registries, pull::auth_file::load(path));
    c.registry = std::move(registries.front());
  }
  c.public_url = f.public_url.empty() ? "http://" + f.listen : f.public_url;
  c.store = f.store;
  c.budget_bytes = f.budget_mib * 1024 * 1024;
  c.fsck = f.fsck;
  c.session.listen = f.bt_listen;
  c.session.upload_rate_limit = f.upload_kib * 1024;
  c.session.seeder = true;
  c.session.deal_pieces = f.deal_pieces;
  c.session.unchoke_slots = f.unchoke_slots != 0 ? f.unchoke_slots : f.deal_pieces ? -1 : 4;
  c.session.origin_request_queue = f.request_queue;
  if (mode == app::parse_mode::run)
    app::apply_fleet_flags(f.fleet, c.session);
  else
    app::check_fleet_flags(f.fleet);
  c.tracker = tracker_options{std::chrono::seconds(f.announce_interval),
                              std::chrono::seconds(std::max(1, f.announce_interval / 3)),
                              f.tracker_peers, 200, f.tracker_peers_per_address};
  c.seeding.trackers = f.trackers.empty() ? std::vector{c.public_url + "/announce"} : f.trackers;
  c.seeding.fleet_ca_pem = c.session.fleet_ca_pem;
  if (mode == app::parse_mode::run) {
    c.api.operator_token = http::secret::load(f.operator_token_file, "ROOKERY_OPERATOR_TOKEN");
    c.api.notify_secret = http::secret::load(f.notify_secret_file, "ROOKERY_NOTIFY_SECRET");
  }
  c.api.image_seeds = f.image_seeds;
  c.api.image_queue = f.image_queue;
  c.log_level = f.log_level;
  return c;
}

}  // namespace

std::variant<seeder_config, int> parse_options(int argc, const char* const* argv) {
  CLI::App app{
      "rookery-seeder: seeds a registry's layers to a BitTorrent swarm of rookery-proxy hosts"};
  raw_flags flags;
  declare(app, flags);
  return app::parse_command_line<seeder_config>(
      app, argc, argv, [&](app::parse_mode mode) { return config_of(flags, mode); });
}

}  // namespace rookery::seeder
