// rookery-proxy: a pull-through OCI registry mirror for one host.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "pull/blob_source.hpp"
#include "http/server.hpp"
#include "layers/blob_store.hpp"
#include "p2p/session.hpp"
#include "registry-proxy/proxy.hpp"
#include "registry-proxy/swarm_source.hpp"

namespace {

using namespace rookery;
namespace asio = boost::asio;

// "[NAME=]URL" → upstream config; NAME empty for the default.
pull::upstream_config parse_upstream(const std::string& spec, const char* flag = "--upstream") {
  pull::upstream_config config;
  std::string url_text = spec;
  if (auto eq = spec.find('='); eq != std::string::npos && spec.find("://") > eq) {
    config.name = spec.substr(0, eq);
    url_text = spec.substr(eq + 1);
  }
  auto parsed = http::url::parse(url_text);
  if (!parsed || parsed->target != "/") {
    throw CLI::ValidationError(flag, "'" + spec + "' is not [NAME=]http(s)://host[:port]");
  }
  config.base = *parsed;
  return config;
}

boost::asio::ip::tcp::endpoint parse_listen(const std::string& text) {
  auto endpoint = rookery::http::parse_endpoint(text);
  if (!endpoint)
    throw CLI::ValidationError("--listen", "expected ADDRESS:PORT, got '" + text + "'");
  return *endpoint;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rookery-proxy: pull-through OCI registry mirror with a local blob cache"};
  std::string listen = "127.0.0.1:5050";
  std::string store_dir = "/var/lib/rookery/proxy";
  std::uint64_t budget_mib = 0;
  std::vector<std::string> upstream_specs;
  std::vector<std::string> credential_specs;
  int connect_ms = 2000, response_ms = 10000, idle_ms = 30000, access_seconds = 60;
  bool prefetch = true;
  std::string log_level = "info";
  std::string seeder_url, bt_listen = "0.0.0.0:6881";
  int stall_ms = 15000, metainfo_timeout_ms = 10000, upload_limit_kib = 0, download_limit_kib = 0;
  app.add_option("--listen", listen, "address:port to serve on")->capture_default_str();
  app.add_option("--store", store_dir, "blob cache directory")->capture_default_str();
  app.add_option("--cache-budget-mib", budget_mib,
                 "evict least-recently-used blobs above this (0: never)");
  app.add_option("--upstream", upstream_specs,
                 "upstream registry, [NAME=]URL; NAME is the ?ns= value that selects it, no NAME "
                 "makes it the default (for clients that send no ns)")
      ->required();
  app.add_option("--upstream-credentials", credential_specs,
                 "NAME=USER:PASSWORD for an upstream (NAME 'default' for the default); or set "
                 "ROOKERY_UPSTREAM_CREDENTIALS");
  app.add_option("--connect-timeout-ms", connect_ms, "upstream connect timeout")
      ->capture_default_str();
  app.add_option("--response-timeout-ms", response_ms, "upstream first-byte timeout")
      ->capture_default_str();
  app.add_option("--idle-timeout-ms", idle_ms, "upstream body stall timeout")
      ->capture_default_str();
  app.add_option("--access-cache-seconds", access_seconds,
                 "how long an upstream confirmation that a client may read content is reused")
      ->capture_default_str();
  app.add_flag("!--no-prefetch", prefetch,
               "fetch only the blobs clients ask for, not every blob of a manifest they read");
  std::string operator_token_file;
  app.add_option("--operator-token-file", operator_token_file,
                 "file holding the operator token for the detailed /v1/status (or "
                 "ROOKERY_OPERATOR_TOKEN)");
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
  app.add_option("--seeder", seeder_url,
                 "[NAME[,NAME...]=]URL of the rookery-seeder beside upstream NAME (default: the "
                 "default upstream): its layers come from the swarm; other upstreams never touch "
                 "the seeder");
  app.add_option("--bt-listen", bt_listen, "BitTorrent listen interface")->capture_default_str();
  app.add_option("--swarm-stall-ms", stall_ms,
                 "no new piece for this long: take the rest from upstream")
      ->capture_default_str();
  app.add_option("--metainfo-timeout-ms", metainfo_timeout_ms,
                 "wait this long for the seeder's metainfo")
      ->capture_default_str();
  app.add_option("--upload-limit-kib", upload_limit_kib,
                 "BitTorrent upload limit in KiB/s (0: none)");
  app.add_option("--download-limit-kib", download_limit_kib,
                 "BitTorrent download limit in KiB/s (0: none)");

  std::vector<pull::upstream_config> configs;
  boost::asio::ip::tcp::endpoint endpoint;
  std::optional<pull::upstream_config> seeder;
  std::vector<std::string> seeder_fronts;  ///< upstream names the seeder serves
  try {
    app.parse(argc, argv);
    endpoint = parse_listen(listen);
    for (const auto& spec : upstream_specs) configs.push_back(parse_upstream(spec));
    if (!seeder_url.empty()) {
      seeder = parse_upstream(seeder_url, "--seeder");
      const std::string& names = seeder->name;  // "a,b", or empty for the default upstream
      for (std::size_t start = 0; start != std::string::npos;) {
        const auto comma = names.find(',', start);
        std::string name = names.substr(start, comma - start);
        start = comma == std::string::npos ? comma : comma + 1;
        if (name == "default") name.clear();
        if (std::none_of(configs.begin(), configs.end(),
                         [&](const auto& c) { return c.name == name; }))
          throw CLI::ValidationError("--seeder", "no upstream named '" + name + "'");
        seeder_fronts.push_back(name);
      }
    }
    if (const char* env = std::getenv("ROOKERY_UPSTREAM_CREDENTIALS"))
      credential_specs.emplace_back(env);
    for (const auto& spec : credential_specs) {
      const auto eq = spec.find('='), colon = spec.find(':', eq == std::string::npos ? 0 : eq);
      if (eq == std::string::npos || colon == std::string::npos) {
        throw CLI::ValidationError("--upstream-credentials", "expected NAME=USER:PASSWORD");
      }
      std::string name = spec.substr(0, eq);
      if (name == "default") name.clear();
      bool found = false;
      for (auto& c : configs) {
        if (c.name == name) {
          c.username = spec.substr(eq + 1, colon - eq - 1);
          c.password = spec.substr(colon + 1);
          found = true;
        }
      }
      if (!found)
        throw CLI::ValidationError("--upstream-credentials", "no upstream named '" + name + "'");
    }
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  spdlog::set_level(spdlog::level::from_str(log_level));

  try {
    boost::asio::io_context io(1);
    auto tls = http::make_client_tls_context();
    http::client_options client_opts;
    client_opts.connect_timeout = std::chrono::milliseconds(connect_ms);
    client_opts.response_timeout = std::chrono::milliseconds(response_ms);
    client_opts.idle_timeout = std::chrono::milliseconds(idle_ms);
    std::vector<std::unique_ptr<pull::upstream>> upstreams;
    for (auto& c : configs) {
      spdlog::info("upstream {} → {}", c.name.empty() ? "default" : c.name, c.base.str());
      upstreams.push_back(std::make_unique<pull::upstream>(c, tls, client_opts));
    }
    // An evicted blob's torrent stops before its file goes (the swarm source, once there).
    std::atomic<proxy::swarm_source*> evict_to{nullptr};
    layers::blob_store blobs({std::filesystem::path(store_dir) / "blobs", budget_mib * 1024 * 1024,
                              [&evict_to](const layers::digest& d) {
                                if (auto* s = evict_to.load()) s->evicted(d);
                              }});
    layers::blob_store manifests({std::filesystem::path(store_dir) / "manifests", 0, {}});
    // Missing blobs come from the swarm when a seeder is configured, else from upstream.
    std::unique_ptr<p2p::session> swarm;
    std::unique_ptr<pull::blob_source> source;
    if (seeder) {
      p2p::session_options swarm_opts;
      swarm_opts.listen = bt_listen;
      swarm_opts.peer_allow = peer_allow;
      p2p::load_fleet(swarm_opts, fleet_ca, fleet_cert, fleet_key);
      swarm_opts.upload_rate_limit = upload_limit_kib * 1024;
      swarm_opts.download_rate_limit = download_limit_kib * 1024;
      swarm = std::make_unique<p2p::session>(io, swarm_opts);
      auto swarm_source = std::make_unique<proxy::swarm_source>(
          tls, *swarm, blobs,
          proxy::swarm_options{
              seeder->base, seeder_fronts, std::filesystem::path(store_dir) / "swarm",
              std::chrono::milliseconds(metainfo_timeout_ms), std::chrono::milliseconds(stall_ms)});
      spdlog::info("swarm via seeder {}, BitTorrent port {}, {} cached blobs seeded again",
                   seeder->base.str(), swarm->listen_port(), swarm_source->restore());
      evict_to = swarm_source.get();
      source = std::move(swarm_source);
    } else {
      source = std::make_unique<pull::upstream_blob_source>();
    }
    proxy::proxy_options opts{std::chrono::seconds(access_seconds), prefetch,
                              http::secret::load(operator_token_file, "ROOKERY_OPERATOR_TOKEN")};
    proxy::registry_proxy handler(io, blobs, manifests, std::move(upstreams), *source,
                                  std::move(opts), swarm.get());
    http::server server(io, endpoint, [&](http::exchange& ex) { return handler.handle(ex); });
    server.start();
    spdlog::info("rookery-proxy serving on {}:{} ({} cached blobs, {} bytes)",
                 server.local_endpoint().address().to_string(), server.local_endpoint().port(),
                 blobs.blob_count(), blobs.total_bytes());
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) { io.stop(); });
    io.run();
  } catch (const std::exception& e) {
    spdlog::critical("rookery-proxy: {}", e.what());
    return 2;
  }
  return 0;
}
