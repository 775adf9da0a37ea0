#include "registry-proxy/options.hpp"

#include <algorithm>
#include <cstdlib>

#include "app/command_line.hpp"

namespace rookery::proxy {
namespace {

struct raw_flags {
  std::string listen = "127.0.0.1:5050", store = "/var/lib/rookery/proxy";
  std::uint64_t budget_mib = 0;
  std::vector<std::string> upstreams, credentials;
  app::fleet_flags fleet;
  int connect_ms = 2000, response_ms = 10000, idle_ms = 30000, access_seconds = 60;
  bool prefetch = true, fsck = false;
  std::size_t max_fetches = 16, max_prefetches = 8, prefetch_queue = 1024;
  double prefetch_stagger = -1;  // not given: swarm_prefetch_stagger with a seeder, else 0
  std::string operator_token_file, log_level = "info", auth_file;
  int tag_stale_seconds = 0;
  std::string seeder, bt_listen = "0.0.0.0:6881";
  int stall_ms = 15000, metainfo_timeout_ms = 20000, upload_kib = 0, download_kib = 0;
  int end_game_wait_ms = 3000;
};

void declare(CLI::App& app, raw_flags& f) {
  app.add_option("--listen", f.listen, "address:port to serve on")->capture_default_str();
  app.add_option("--store", f.store, "blob cache directory")->capture_default_str();
  app.add_option("--cache-budget-mib", f.budget_mib,
                 "evict least-recently-used blobs above this (0: never)");
  app.add_option("--upstream", f.upstreams,
                 "upstream registry, [NAME=]URL; NAME is the ?ns= value that selects it, no NAME "
                 "makes it the default (for clients that send no ns)")
      ->required();
  app.add_option("--upstream-credentials", f.credentials,
                 "NAME=USER:PASSWORD for an upstream (NAME 'default' for the default); or set "
                 "ROOKERY_UPSTREAM_CREDENTIALS");
  app.add_option("--auth-file", f.auth_file,
                 "docker config.json or containers-auth.json: upstreams without "
                 "--upstream-credentials log in as its \"auths\" entry for their host "
                 "(default: $REGISTRY_AUTH_FILE)");
  app.add_option("--tag-stale-seconds", f.tag_stale_seconds,
                 "while upstream is unreachable (refused, timeout, 5xx), answer a tag resolved "
                 "within this many seconds from the cache, marked Rookery-Stale-Tag (0: off)")
      ->capture_default_str()
      ->check(CLI::Range(0, 365 * 24 * 3600));
  app.add_option("--connect-timeout-ms", f.connect_ms, "upstream connect timeout")
      ->capture_default_str();
  app.add_option("--response-timeout-ms", f.response_ms, "upstream first-byte timeout")
      ->capture_default_str();
  app.add_option("--idle-timeout-ms", f.idle_ms, "upstream body stall timeout")
      ->capture_default_str();
  app.add_option("--access-cache-seconds", f.access_seconds,
                 "how long an upstream confirmation that a client may read content is reused")
      ->capture_default_str();
  app.add_flag("!--no-prefetch", f.prefetch,
               "fetch only the blobs clients ask for, not every blob of a manifest they read");
  app.add_option("--max-fetches", f.max_fetches,
                 "blob fetches from upstream or the swarm at once; more wait their turn (0: no "
                 "limit)")
      ->capture_default_str();
  app.add_option("--max-prefetches", f.max_prefetches,
                 "prefetched blobs fetched at once (a manifest's blobs beyond that wait)")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  app.add_option("--prefetch-stagger", f.prefetch_stagger,
                 "a prefetched or prewarmed blob starts once the one before it has this share of "
                 "its bytes (0: all at once; default: 0.2 with --seeder, else 0)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--prefetch-queue", f.prefetch_queue,
                 "prefetches that may wait; more are not prefetched (clients fetch them on demand)")
      ->capture_default_str();
  app.add_flag("--fsck", f.fsck,
               "verify every cached blob and manifest against its digest before serving; bad "
               "ones move to quarantine/ beside them and are fetched again when asked for");
  app.add_option("--operator-token-file", f.operator_token_file,
                 "file holding the operator token for the detailed /v1/status (or "
                 "ROOKERY_OPERATOR_TOKEN)");
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  app.add_option("--seeder", f.seeder,
                 "[NAME[,NAME...]=]URL of the rookery-seeder beside upstream NAME (default: the "
                 "default upstream): its layers come from the swarm; other upstreams never touch "
                 "the seeder");
  app.add_option("--bt-listen", f.bt_listen, "BitTorrent listen interface")->capture_default_str();
  app::add_fleet_flags(app, f.fleet);
  app.add_option("--swarm-stall-ms", f.stall_ms,
                 "no new piece for this long: take the rest from upstream")
      ->capture_default_str();
  app.add_option("--metainfo-timeout-ms", f.metainfo_timeout_ms,
                 "wait this long for the seeder's metainfo")
      ->capture_default_str();
  app.add_option("--end-game-wait-ms", f.end_game_wait_ms,
                 "at the end of a download, a second request for a block already on its way "
                 "from another peer waits this long (checked once a second) and goes out only "
                 "if the block is still missing (0: at once, as libtorrent does)")
      ->capture_default_str()
      ->check(CLI::Range(0, 60000));
  app.add_option("--upload-limit-kib", f.upload_kib, "BitTorrent upload limit in KiB/s (0: none)");
  app.add_option("--download-limit-kib", f.download_kib,
                 "BitTorrent download limit in KiB/s (0: none)");
}

pull::upstream_config& upstream_named(std::vector<pull::upstream_config>& all,
                                      const std::string& name, const std::string& flag) {
  auto it = std::find_if(all.begin(), all.end(), [&](const auto& c) { return c.name == name; });
  if (it == all.end()) throw app::bad_flag(flag, "no upstream named '" + name + "'");
  return *it;
}

swarm_config swarm_of(raw_flags& f, std::vector<pull::upstream_config>& upstreams,
                      app::parse_mode mode) {
  swarm_config swarm;
  const auto seeder = app::upstream_spec(f.seeder, "--seeder");
  swarm.seeder = seeder.base;
  for (auto name : app::split_names(seeder.name)) {
    if (name == "default") name.clear();
    upstream_named(upstreams, name, "--seeder");
    swarm.fronts.push_back(name);
  }
  swarm.session.listen = f.bt_listen;
  swarm.session.upload_rate_limit = f.upload_kib * 1024;
  swarm.session.download_rate_limit = f.download_kib * 1024;
  swarm.session.end_game_wait = std::chrono::milliseconds(f.end_game_wait_ms);
  if (mode == app::parse_mode::run)
    app::apply_fleet_flags(f.fleet, swarm.session);
  else
    app::check_fleet_flags(f.fleet);
  swarm.stall = std::chrono::milliseconds(f.stall_ms);
  swarm.metainfo_timeout = std::chrono::milliseconds(f.metainfo_timeout_ms);
  return swarm;
}

proxy_config config_of(raw_flags& f, app::parse_mode mode) {
  proxy_config c;
  c.listen = app::listen_endpoint(f.listen, "--listen");
  c.store = f.store;
  c.budget_bytes = f.budget_mib * 1024 * 1024;
  for (const auto& spec : f.upstreams)
    c.upstreams.push_back(app::upstream_spec(spec, "--upstream"));
  if (const char* env = std::getenv("ROOKERY_UPSTREAM_CREDENTIALS"))
    f.credentials.emplace_back(env);
  for (const auto& spec : f.credentials) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos)
      throw app::bad_flag("--upstream-credentials", "expected NAME=USER:PASSWORD");
    std::string name = spec.substr(0, eq);
    if (name == "default") name.clear();
    app::set_credentials(upstream_named(c.upstreams, name, "--upstream-credentials"),
                         spec.substr(eq + 1), "--upstream-credentials");
  }
  const auto auth_path = app::auth_file_path(f.auth_file);
  if (mode == app::parse_mode::run && !auth_path.empty())
    app::apply_auth_file(c.upstreams, pull::auth_file::load(auth_path));
  c.tag_stale = std::chrono::seconds(f.tag_stale_seconds);
  c.client.connect_timeout = std::chrono::milliseconds(f.connect_ms);
  c.client.response_timeout = std::chrono::milliseconds(f.response_ms);
  c.client.idle_timeout = std::chrono::milliseconds(f.idle_ms);
  c.access_fresh = std::chrono::seconds(f.access_seconds);
  c.prefetch = f.prefetch;
  c.fsck = f.fsck;
  c.max_fetches = f.max_fetches;
  c.max_prefetches = f.max_prefetches;
  c.prefetch_queue = f.prefetch_queue;
  c.prefetch_stagger = f.prefetch_stagger >= 0 ? f.prefetch_stagger
                       : f.seeder.empty()      ? 0.0
                                               : swarm_prefetch_stagger;
  if (mode == app::parse_mode::run)
    c.operator_token = http::secret::load(f.operator_token_file, "ROOKERY_OPERATOR_TOKEN");
  c.log_level = f.log_level;
  if (!f.seeder.empty()) c.swarm = swarm_of(f, c.upstreams, mode);
  return c;
}

}  // namespace

std::variant<proxy_config, int> parse_options(int argc, const char* const* argv) {
  CLI::App app{"rookery-proxy: pull-through OCI registry mirror with a local blob cache"};
  raw_flags flags;
  declare(app, flags);
  return app::parse_command_line<proxy_config>(
      app, argc, argv, [&](app::parse_mode mode) { return config_of(flags, mode); });
}

}  // namespace rookery::proxy
