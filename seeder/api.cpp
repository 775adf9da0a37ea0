#include "seeder/api.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "http/blob_response.hpp"
#include "http/prometheus.hpp"
#include "http/query.hpp"
#include "http/responses.hpp"
#include "layers/error.hpp"
#include "layers/reference.hpp"
#include "pull/refusal.hpp"

namespace rookery::seeder {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

api::api(asio::io_context& io, layers::blob_store& store, pull::upstream& registry,
         p2p::session& swarm, tracker& trk, seeding& seeds, api_options opts)
    : io_(io),
      store_(store),
      registry_(registry),
      swarm_(swarm),
      tracker_(trk),
      seeds_(seeds),
      opts_(std::move(opts)),
      access_(opts_.access_fresh),
      images_(opts_.image_seeds, opts_.image_queue) {}

asio::awaitable<void> api::handle(http::exchange& ex) {
  const auto& req = ex.req();
  const std::string target(req.target());
  const std::string path = target.substr(0, target.find('?'));
  const auto method = req.method();
  const bool read = method == bhttp::verb::get || method == bhttp::verb::head;
  const bool post = method == bhttp::verb::post;
  const http::latency_timer timer(read ? latency_of(path) : nullptr);

  if (path == "/announce" && read) {
    std::string body = tracker_.announce(
        target.size() > path.size() ? std::string_view(target).substr(path.size() + 1) : "",
        ex.remote_address());
    co_return co_await http::send_text(ex, std::move(body), "text/plain");
  }
  if (path == "/healthz") co_return co_await http::send_text(ex, "ok\n", "text/plain");
  if (path == "/metrics") {
    std::string body = metrics_text();  // aggregates only: open to scrapers
    co_return co_await http::send_text(ex, std::move(body), http::prometheus_text::content_type);
  }
  if (path == "/v1/status") {
    // Digests and info-hashes only for the operator; everyone else sees counts.
    std::string body = status_json(opts_.operator_token.admits(req[bhttp::field::authorization]));
    co_return co_await http::send_text(ex, std::move(body), "application/json");
  }
  if (path == "/v1/notifications" && post) co_return co_await handle_notifications(ex);
  if (path == "/v1/seed" && post) {
    if (!co_await require_operator(ex)) co_return;
    co_return co_await handle_seed(ex);
  }
  constexpr std::string_view blobs_prefix = "/v1/blobs/";
  if (path.starts_with(blobs_prefix) && read)
    co_return co_await handle_blob(ex, path.substr(blobs_prefix.size()));
  co_return co_await http::send_error(ex, read ? errc::not_found : errc::unsupported);
}

asio::awaitable<bool> api::require_operator(http::exchange& ex) {
  if (opts_.operator_token.admits(ex.req()[bhttp::field::authorization])) co_return true;
  const char* detail = opts_.operator_token.configured()
                           ? "this endpoint needs the operator token (Authorization: Bearer)"
                           : "no operator token is configured on this seeder";
  co_await http::send_error(ex, errc::unauthorized, detail);
  co_return false;
}

asio::awaitable<bool> api::authorize_read(http::exchange& ex, const layers::digest& d) {
  const auto repo_param = http::query_value(ex.req().target(), "repo");
  const std::string repository = repo_param ? http::percent_decode(*repo_param).value_or("") : "";
  if (!layers::valid_repository_name(repository)) {
    co_await http::send_error(ex, errc::name_invalid,
                              "?repo= must name the repository the blob is pulled from");
    co_return false;
  }
  // The registry decides, with the caller's own Authorization (never the seeder's).
  const std::string authorization(ex.req()[bhttp::field::authorization]);
  const auto key = pull::access_cache::key("registry", repository, d.str(), authorization);
  if (access_.check(key) == pull::access_verdict::fresh) co_return true;
  std::error_code ec;
  const pull::upstream_call call{
      bhttp::verb::head,        "/v2/" + repository + "/blobs/" + d.str(), authorization, {}, {},
      /*own_credentials=*/false};
  auto res = co_await registry_.send(call, ec);
  if (!res) {
    co_await http::send_error(ex, ec);
    co_return false;
  }
  if (res->status() != 200) {
    access_.forget(key);
    const pull::upstream_refusal refusal = co_await pull::read_refusal(*res);
    co_await pull::send_refusal(ex, refusal);
    co_return false;
  }
  access_.allow(key);
  co_return true;
}

asio::awaitable<void> api::handle_blob(http::exchange& ex, std::string rest) {
  constexpr std::string_view torrent_suffix = "/torrent";
  const bool metainfo = rest.size() > torrent_suffix.size() && rest.ends_with(torrent_suffix);
  if (metainfo) rest.resize(rest.size() - torrent_suffix.size());
  std::string why;
  auto d = layers::digest::parse(rest, &why);
  if (!d) co_return co_await http::send_error(ex, errc::digest_invalid, std::move(why));
  if (!co_await authorize_read(ex, *d)) co_return;
  if (metainfo) co_return co_await send_metainfo(ex, *d);
  // The web seed: only what this seeder seeds, only to callers the registry lets read it.
  auto lease = seeds_.find(*d) ? store_.open(*d) : std::nullopt;
  if (!lease) co_return co_await http::send_error(ex, errc::blob_unknown);
  // Bytes sent here are taken as the digest's: a damaged copy must never go out.
  if (!co_await seeds_.verify_stored(*lease)) {
    co_return co_await http::send_error(
        ex, errc::blob_unknown, "the seeder's copy failed its digest check and was quarantined");
  }
  const std::string digest = d->str();
  web_seed_bytes_ += co_await http::send_blob(ex, lease->fd(), lease->size(), digest);
}

asio::awaitable<void> api::send_metainfo(http::exchange& ex, const layers::digest& d) {
  // authorize_read accepted ?repo= already.
  const auto repository = http::percent_decode(*http::query_value(ex.req().target(), "repo"));
  const std::string authorization(ex.req()[bhttp::field::authorization]);
  const auto result = co_await seeds_.ensure(*repository, d, authorization);
  if (!result.blob) {
    if (result.ec == errc::size_invalid)
      co_return co_await http::send_error(ex, errc::blob_unknown, "the empty blob has no torrent");
    if (result.refusal.status) co_return co_await pull::send_refusal(ex, result.refusal);
    co_return co_await http::send_error(
        ex, result.ec ? result.ec : make_error_code(errc::blob_unknown));
  }
  ++torrents_served_;
  http::string_response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, "application/x-bittorrent");
  res.set("X-Rookery-Info-Hash", layers::to_hex(result.blob->info_hash));
  res.set("X-Rookery-BT-Port", std::to_string(swarm_.listen_port()));
  res.body() = result.blob->metainfo;
  co_await ex.send(std::move(res));
}

asio::awaitable<void> api::handle_notifications(http::exchange& ex) {
  // Only the registry knows the secret: anyone else could make us fetch whole repositories.
  if (!opts_.notify_secret.admits(ex.req()[bhttp::field::authorization])) {
    ++notifications_refused_;
    const char* detail = opts_.notify_secret.configured()
                             ? "notifications must carry the shared secret"
                             : "no notification secret is configured on this seeder";
    co_return co_await http::send_error(ex, errc::unauthorized, detail);
  }
  auto pushed = parse_notifications(ex.req().body());
  if (!pushed) {
    co_return co_await http::send_error(ex, errc::manifest_invalid,
                                        "expected a registry notification envelope");
  }
  std::size_t accepted = 0, coalesced = 0;
  for (auto& image : *pushed) {
    const auto outcome = images_.push(std::move(image));
    if (outcome == image_queue::outcome::full) {
      // The registry sends the envelope again later; what was queued stays queued.
      ++notifications_refused_;
      start_queued_images();
      co_return co_await http::send_error(ex, errc::too_many_requests,
                                          "seed queue full; send again later");
    }
    ++(outcome == image_queue::outcome::queued ? accepted : coalesced);
  }
  notifications_ += accepted;
  notifications_coalesced_ += coalesced;
  start_queued_images();  // answer the registry at once; seeding a large image takes a while
  std::string body = nlohmann::json{{"accepted", accepted}, {"coalesced", coalesced}}.dump();
  co_return co_await http::send_text(ex, std::move(body), "application/json");
}

void api::start_queued_images() {
  while (auto image = images_.start_next()) {
    asio::co_spawn(
        io_,
        [this, image = std::move(*image)]() -> asio::awaitable<void> {
          auto summary = co_await seeds_.seed_image(image.repository, image.reference);
          spdlog::info("push of {}@{}: {}", image.repository, image.reference, summary.dump());
          images_.finished(image);
          start_queued_images();
        },
        asio::detached);
  }
}

asio::awaitable<void> api::handle_seed(http::exchange& ex) {
  auto doc = nlohmann::json::parse(ex.req().body(), nullptr, false);
  const std::string image =
      doc.is_object() && doc.contains("image") && doc["image"].is_string() ? doc["image"] : "";
  auto ref = layers::parse_image_reference(image);
  if (!ref) {
    co_return co_await http::send_error(
        ex, errc::name_invalid, "expected {\"image\": \"repository:tag\"} or repository@digest");
  }
  auto summary = co_await seeds_.seed_image(ref->repository, ref->reference);
  std::string body = summary.dump();
  co_return co_await http::send_text(ex, std::move(body), "application/json");
}

std::shared_ptr<http::latency_histogram> api::latency_of(std::string_view path) {
  if (path == "/announce") return announce_latency_;
  if (!path.starts_with("/v1/blobs/")) return nullptr;
  return path.ends_with("/torrent") ? metainfo_latency_ : web_seed_latency_;
}

std::string api::metrics_text() const {
  const auto totals = swarm_.totals();
  const auto& fetches = seeds_.fetches();
  http::prometheus_text out("rookery_seeder_");
  out.gauge("seeded_blobs", "Blobs being seeded.", seeds_.all().size())
      .counter("bytes_uploaded_total", "Payload bytes sent to peers.", totals.uploaded)
      .counter("web_seed_bytes_total", "Bytes served over HTTP as a web seed.", web_seed_bytes_)
      .counter("registry_bytes_total", "Blob bytes fetched from the registry.",
               fetches.bytes_fetched)
      .counter("registry_fetches_total", "Blob fetches from the registry.", fetches.fetches)
      .counter("notifications_total", "Manifest push events queued for seeding.", notifications_)
      .counter("notifications_coalesced_total",
               "Push events for an image already queued or being seeded.", notifications_coalesced_)
      .counter("notifications_refused_total",
               "Notification requests refused (no or wrong secret, queue full).",
               notifications_refused_)
      .gauge("image_seeds_running", "Images being seeded from notifications now.",
             images_.running())
      .gauge("image_seeds_peak", "Most images ever seeded from notifications at once.",
             images_.peak())
      .gauge("image_seeds_queued", "Images waiting to be seeded.", images_.waiting())
      .gauge("store_bytes", "Bytes in the seeder's blob store.", store_.total_bytes())
      .counter("blobs_quarantined_total",
               "Stored blobs that failed their digest check (at start or before a serve).",
               store_.quarantined_count())
      .counter("torrents_served_total", "Metainfo answers given.", torrents_served_)
      .gauge("tracker_peers", "Peers the built-in tracker knows.", tracker_.peer_count())
      .gauge("swarm_torrents", "Torrents this seeder seeds or downloads.", swarm_.torrent_count())
      .gauge("swarm_peers", "Peer connections, summed over the seeder's torrents.",
             swarm_.peer_connections())
      .histograms("request_duration_seconds",
                  "Time from a request's arrival to its last byte sent, by route.", "route",
                  {{"metainfo", metainfo_latency_.get()},
                   {"announce", announce_latency_.get()},
                   {"web_seed", web_seed_latency_.get()}})
      .counter("hash_failures_total", "Pieces from peers that failed their hash check.",
               swarm_.hash_failures())
      .counter("pieces_dealt_total", "Pieces dealt to a host (sent from here first).",
               swarm_.dealing().dealt.load())
      .counter("requests_redirected_total", "Requests for a piece dealt to another host, rejected.",
               swarm_.dealing().redirected.load())
      .counter("blocks_served_again_total",
               "Blocks of a piece dealt to another host sent anyway (every piece was out, or the "
               "host was the only one still fetching).",
               swarm_.dealing().served_again.load())
      .counter("hosts_unmasked_total",
               "Host torrents shown every piece again because nothing was left to deal.",
               swarm_.dealing().unmasked.load())
      .counter("pieces_lapsed_total", "Pieces dealt again because their host stopped asking.",
               swarm_.dealing().lapsed.load())
      .counter("pieces_released_total", "Pieces dealt again because their host disconnected.",
               swarm_.dealing().released.load())
      .counter("dealer_connections_total", "Host connections the piece dealer has seen.",
               swarm_.dealing().hosts.load());
  return out.str();
}

std::string api::status_json(bool detailed) const {
  nlohmann::json out = {
      {"seeded_blobs", seeds_.all().size()},      {"pending", seeds_.fetches_in_flight()},
      {"image_seeds_running", images_.running()}, {"image_seeds_queued", images_.waiting()},
      {"store_bytes", store_.total_bytes()},      {"bt_port", swarm_.listen_port()}};
  if (!detailed) return out.dump();
  nlohmann::json blobs = nlohmann::json::array();
  for (const auto& [d, s] : seeds_.all()) {
    const auto st = swarm_.stats(d);
    blobs.push_back({{"digest", d.str()},
                     {"size", s->size},
                     {"info_hash", layers::to_hex(s->info_hash)},
                     {"uploaded", st.uploaded},
                     {"peers", st.peers}});
  }
  out["seeding"] = std::move(blobs);
  return out.dump();
}

}  // namespace rookery::seeder
