#include "seeder/seeder.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "http/blob_response.hpp"
#include "http/offload.hpp"
#include "http/query.hpp"
#include "http/responses.hpp"
#include "layers/error.hpp"
#include "layers/layer_torrent.hpp"
#include "layers/reference.hpp"
#include "layers/small_file.hpp"

namespace rookery::seeder {
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;

namespace {

std::string binary_of_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

}  // namespace

seeder::seeder(asio::io_context& io, layers::blob_store& store, pull::upstream& registry,
               p2p::session& swarm, tracker& trk, seeder_options opts)
    : io_(io),
      store_(store),
      registry_(registry),
      swarm_(swarm),
      tracker_(trk),
      opts_(std::move(opts)),
      fetcher_(io, store, source_, disk_),
      access_(opts_.access_fresh) {
  fs::create_directories(store_.root() / "torrents");
  if (opts_.trackers.empty()) opts_.trackers.push_back(opts_.public_url + "/announce");
}

fs::path seeder::metainfo_path(const layers::digest& d) const {
  return store_.root() / "torrents" / (d.hex() + ".torrent");
}

std::shared_ptr<const seeder::seeded> seeder::start_seeding(const layers::digest& d,
                                                            std::string metainfo,
                                                            std::error_code& ec) {
  auto t = swarm_.add(d, metainfo, store_.directory(d.algorithm()), /*seed=*/true,
                      /*keep_web_seeds=*/false, ec);
  if (!t) return nullptr;
  auto info_hash = layers::info_hash_of(metainfo);
  if (!info_hash) {
    ec = errc::store_failure;
    return nullptr;
  }
  tracker_.allow(binary_of_hex(*info_hash));
  auto s = std::make_shared<const seeded>(seeded{std::move(metainfo), *info_hash, t->size()});
  seeded_[d] = s;
  spdlog::info("seeding {} ({} bytes, info-hash {})", d.str(), s->size, s->info_hash);
  return s;
}

asio::awaitable<void> seeder::restore() {
  std::vector<layers::digest> stored;
  for (const auto algorithm :
       {layers::digest_algorithm::sha256, layers::digest_algorithm::sha512}) {
    for (const auto& item : fs::directory_iterator(store_.directory(algorithm))) {
      const std::string prefix =
          algorithm == layers::digest_algorithm::sha256 ? "sha256:" : "sha512:";
      if (auto d = layers::digest::parse(prefix + item.path().filename().string()))
        stored.push_back(*d);
    }
  }
  for (const auto& d : stored) {
    std::error_code ec;
    auto metainfo = layers::read_small_file(metainfo_path(d));
    if (metainfo && !metainfo->empty() && start_seeding(d, std::move(*metainfo), ec)) continue;
    pull::upstream_refusal refusal;
    co_await ensure("", d, "", refusal, ec);  // no metainfo saved: hash the stored blob
    if (ec) spdlog::warn("could not seed stored blob {}: {}", d.str(), ec.message());
  }
  spdlog::info("restored {} seeded blobs", seeded_.size());
}

asio::awaitable<std::shared_ptr<const seeder::seeded>> seeder::ensure(
    const std::string& repository, const layers::digest& d, const std::string& authorization,
    pull::upstream_refusal& refusal, std::error_code& ec) {
  ec.clear();
  if (auto it = seeded_.find(d); it != seeded_.end()) co_return it->second;
  if (auto it = pending_.find(d); it != pending_.end()) {
    auto p = it->second;  // someone is already on it: wait for their answer
    while (!p->finished) {
      boost::system::error_code ignored;
      co_await p->done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    ec = p->error;
    refusal = p->refusal;
    co_return p->result;
  }
  auto p = std::make_shared<pending>(io_);
  pending_.emplace(d, p);
  p->result = co_await make_seeded(repository, d, authorization, p->refusal, p->error);
  p->finished = true;
  pending_.erase(d);
  p->done.cancel();
  ec = p->error;
  refusal = p->refusal;
  co_return p->result;
}

asio::awaitable<std::shared_ptr<const seeder::seeded>> seeder::make_seeded(
    const std::string& repository, const layers::digest& d, const std::string& authorization,
    pull::upstream_refusal& refusal, std::error_code& ec) {
  std::optional<layers::layer_torrent> made;
  if (!store_.contains(d)) {
    if (repository.empty()) {
      ec = errc::blob_unknown;
      co_return nullptr;
    }
    bool joined = false;
    const pull::blob_request request{&registry_, repository, d, authorization};
    auto f = co_await fetcher_.start(request, refusal, ec, joined);
    if (!f) co_return nullptr;
    while (f->state == pull::fetch::phase::running) co_await f->changed();
    auto pieces = source_.take(d);
    if (f->state == pull::fetch::phase::failed) {
      ec = f->error ? f->error : make_error_code(errc::blob_unknown);
      co_return nullptr;
    }
    // The blob verified while it streamed in; its piece hashes came along.
    if (pieces) {
      made = layers::build_layer_torrent(d, std::move(*pieces), opts_.trackers,
                                         layers::torrent_extras{{}, opts_.fleet_ca_pem}, ec);
    }
  }
  if (!made) {
    auto lease = store_.open(d);
    if (!lease) {
      ec = errc::blob_unknown;
      co_return nullptr;
    }
    if (lease->size() == 0) {
      ec = errc::size_invalid;  // the empty blob needs no torrent: every client has it
      co_return nullptr;
    }
    const std::vector<std::string> trackers = opts_.trackers;
    const layers::torrent_extras extras{{}, opts_.fleet_ca_pem};
    made = co_await http::offload(io_, disk_, [&] {
      std::error_code hash_ec;
      auto t = layers::make_layer_torrent(lease->fd(), lease->size(), d, trackers, extras, hash_ec);
      ec = hash_ec;
      return t;
    });
    if (!made) co_return nullptr;
  }
  if (!layers::write_file_atomically(metainfo_path(d), made->metainfo)) {
    spdlog::warn("could not save the metainfo of {}; it will be hashed again after a restart",
                 d.str());
  }
  co_return start_seeding(d, std::move(made->metainfo), ec);
}

asio::awaitable<std::optional<layers::manifest>> seeder::fetch_manifest(
    const std::string& repository, const std::string& reference, std::string& why) {
  std::error_code ec;
  const pull::upstream_call call{bhttp::verb::get,
                                 "/v2/" + repository + "/manifests/" + reference,
                                 {},
                                 std::string(layers::media_type::accept_all),
                                 {}};
  auto res = co_await registry_.send(call, ec);
  if (!res) {
    why = "registry unreachable: " + ec.message();
    co_return std::nullopt;
  }
  std::string body;
  if (res->status() != 200 || co_await res->read_body(body, layers::max_manifest_bytes)) {
    why = "registry answered " + std::to_string(res->status()) + " for the manifest";
    co_return std::nullopt;
  }
  const std::string content_type = res->header(bhttp::field::content_type);
  co_return layers::parse_manifest(body, content_type, &why);
}

asio::awaitable<nlohmann::json> seeder::seed_image(std::string repository, std::string reference) {
  nlohmann::json summary = {{"repository", repository}, {"reference", reference}};
  std::string why;
  auto top = co_await fetch_manifest(repository, reference, why);
  if (!top) {
    summary["error"] = why;
    co_return summary;
  }
  std::vector<layers::descriptor> blobs;
  if (top->kind == layers::manifest_kind::index) {
    for (const auto& child : top->manifests) {
      const std::string child_ref = child.digest.str();
      auto m = co_await fetch_manifest(repository, child_ref, why);
      if (m) {
        auto b = m->blobs();
        blobs.insert(blobs.end(), b.begin(), b.end());
      }
    }
  } else {
    blobs = top->blobs();
  }
  nlohmann::json seeded = nlohmann::json::array();
  for (const auto& blob : blobs) {
    std::error_code ec;
    pull::upstream_refusal refusal;
    auto s = co_await ensure(repository, blob.digest, "", refusal, ec);
    nlohmann::json entry = {{"digest", blob.digest.str()}, {"size", blob.size}};
    if (s) {
      entry["info_hash"] = s->info_hash;
    } else {
      entry["error"] =
          refusal.status ? "registry answered " + std::to_string(refusal.status) : ec.message();
    }
    seeded.push_back(entry);
  }
  summary["blobs"] = seeded;
  co_return summary;
}

asio::awaitable<void> seeder::handle(http::exchange& ex) {
  const auto& req = ex.req();
  const std::string target(req.target());
  const std::string path = target.substr(0, target.find('?'));
  const auto method = req.method();
  const bool read = method == bhttp::verb::get || method == bhttp::verb::head;

  if (path == "/announce" && read) {
    std::string body = tracker_.announce(
        target.size() > path.size() ? std::string_view(target).substr(path.size() + 1) : "",
        ex.remote_address());
    co_return co_await http::send_text(ex, std::move(body), "text/plain");
  }
  if (path == "/healthz") co_return co_await http::send_text(ex, "ok\n", "text/plain");
  if (path == "/metrics") {
    std::string body = metrics_text();  // aggregates only: open to scrapers
    co_return co_await http::send_text(ex, std::move(body), "text/plain; version=0.0.4");
  }
  if (path == "/v1/status") {
    // Digests and info-hashes only for the operator; everyone else sees counts.
    const bool detailed = opts_.operator_token.admits(req[bhttp::field::authorization]);
    std::string body = status_json(detailed);
    co_return co_await http::send_text(ex, std::move(body), "application/json");
  }
  if (path == "/v1/notifications" && method == bhttp::verb::post)
    co_return co_await handle_notifications(ex);
  if (path == "/v1/seed" && method == bhttp::verb::post) {
    if (!co_await require_operator(ex)) co_return;
    co_return co_await handle_seed(ex);
  }
  constexpr std::string_view blobs_prefix = "/v1/blobs/";
  if (path.rfind(blobs_prefix, 0) == 0 && read)
    co_return co_await handle_blob(ex, path.substr(blobs_prefix.size()));
  co_return co_await http::send_error(ex, read ? errc::not_found : errc::unsupported);
}

asio::awaitable<bool> seeder::require_operator(http::exchange& ex) {
  if (opts_.operator_token.admits(ex.req()[bhttp::field::authorization])) co_return true;
  const char* detail = opts_.operator_token.configured()
                           ? "this endpoint needs the operator token (Authorization: Bearer)"
                           : "no operator token is configured on this seeder";
  co_await http::send_error(ex, errc::unauthorized, detail);
  co_return false;
}

asio::awaitable<bool> seeder::authorize_read(http::exchange& ex, const layers::digest& d) {
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

asio::awaitable<void> seeder::handle_blob(http::exchange& ex, std::string rest) {
  constexpr std::string_view torrent_suffix = "/torrent";
  const bool metainfo = rest.size() > torrent_suffix.size() && rest.ends_with(torrent_suffix);
  if (metainfo) rest.resize(rest.size() - torrent_suffix.size());
  std::string why;
  auto d = layers::digest::parse(rest, &why);
  if (!d) co_return co_await http::send_error(ex, errc::digest_invalid, std::move(why));
  if (!co_await authorize_read(ex, *d)) co_return;

  if (!metainfo) {
    // The web seed: only what this seeder seeds, only to callers the registry lets read it.
    auto lease = seeded_.contains(*d) ? store_.open(*d) : std::nullopt;
    if (!lease) co_return co_await http::send_error(ex, errc::blob_unknown);
    const std::string digest = d->str();
    web_seed_bytes_ += co_await http::send_blob(ex, lease->fd(), lease->size(), digest);
    co_return;
  }
  const auto repository = http::percent_decode(*http::query_value(ex.req().target(), "repo"));
  const std::string authorization(ex.req()[bhttp::field::authorization]);
  std::error_code ec;
  pull::upstream_refusal refusal;
  auto s = co_await ensure(*repository, *d, authorization, refusal, ec);
  if (!s) {
    if (ec == errc::size_invalid)
      co_return co_await http::send_error(ex, errc::blob_unknown, "the empty blob has no torrent");
    co_return co_await http::send_error(ex, ec ? ec : make_error_code(errc::blob_unknown));
  }
  ++torrents_served_;
  http::string_response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, "application/x-bittorrent");
  res.set("X-Rookery-Info-Hash", s->info_hash);
  res.set("X-Rookery-BT-Port", std::to_string(swarm_.listen_port()));
  res.body() = s->metainfo;
  co_await ex.send(std::move(res));
}

asio::awaitable<void> seeder::handle_notifications(http::exchange& ex) {
  // Only the registry knows the secret: anyone else could make us fetch whole repositories.
  if (!opts_.notify_secret.admits(ex.req()[bhttp::field::authorization])) {
    ++notifications_refused_;
    const char* detail = opts_.notify_secret.configured()
                             ? "notifications must carry the shared secret"
                             : "no notification secret is configured on this seeder";
    co_return co_await http::send_error(ex, errc::unauthorized, detail);
  }
  auto doc = nlohmann::json::parse(ex.req().body(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("events") ||
      !doc["events"].is_array()) {
    co_return co_await http::send_error(ex, errc::manifest_invalid,
                                        "expected a registry notification envelope");
  }
  std::size_t accepted = 0, coalesced = 0;
  for (const auto& event : doc["events"]) {
    if (!event.is_object() || event.value("action", "") != "push") continue;
    const auto target = event.value("target", nlohmann::json::object());
    if (!target.is_object()) continue;
    const std::string media_type = target.value("mediaType", "");
    const std::string repository = target.value("repository", "");
    auto d = layers::digest::parse(target.value("digest", ""));
    if (!layers::is_manifest_media_type(media_type) || !d ||
        !layers::valid_repository_name(repository))
      continue;
    switch (enqueue_image(repository, d->str())) {
      case queued::added:
        ++notifications_;
        ++accepted;
        break;
      case queued::coalesced:
        ++notifications_coalesced_;
        ++coalesced;
        break;
      case queued::full:
        // The registry sends the envelope again later; what was queued stays queued.
        ++notifications_refused_;
        start_queued_images();
        co_return co_await http::send_error(ex, errc::too_many_requests,
                                            "seed queue full; send again later");
    }
  }
  start_queued_images();  // answer the registry at once; seeding a large image takes a while
  std::string body = nlohmann::json{{"accepted", accepted}, {"coalesced", coalesced}}.dump();
  co_return co_await http::send_text(ex, std::move(body), "application/json");
}

seeder::queued seeder::enqueue_image(const std::string& repository, const std::string& reference) {
  std::string key = repository + "@" + reference;
  if (images_pending_.contains(key)) return queued::coalesced;
  if (image_queue_.size() >= opts_.image_queue) return queued::full;
  images_pending_.insert(std::move(key));
  image_queue_.push_back({repository, reference});
  return queued::added;
}

void seeder::start_queued_images() {
  while (image_seeds_running_ < opts_.image_seeds && !image_queue_.empty()) {
    image_ref image = std::move(image_queue_.front());
    image_queue_.pop_front();
    ++image_seeds_running_;
    image_seeds_peak_ = std::max(image_seeds_peak_, image_seeds_running_);
    asio::co_spawn(
        io_,
        [this, image = std::move(image)]() -> asio::awaitable<void> {
          auto summary = co_await seed_image(image.repository, image.reference);
          spdlog::info("push of {}@{}: {}", image.repository, image.reference, summary.dump());
          --image_seeds_running_;
          images_pending_.erase(image.repository + "@" + image.reference);
          start_queued_images();
        },
        asio::detached);
  }
}

void seeder::evicted(const layers::digest& d) {
  swarm_.remove(d);  // peers stop getting bytes before the file goes
  std::error_code ignored;
  fs::remove(metainfo_path(d), ignored);
  asio::post(io_, [this, d] {
    auto it = seeded_.find(d);
    if (it == seeded_.end()) return;
    tracker_.forget(binary_of_hex(it->second->info_hash));
    seeded_.erase(it);
  });
}

asio::awaitable<void> seeder::handle_seed(http::exchange& ex) {
  auto doc = nlohmann::json::parse(ex.req().body(), nullptr, false);
  const std::string image = doc.is_object() ? doc.value("image", "") : "";
  // repo:tag or repo@digest
  std::string repository = image, reference = "latest";
  if (const auto at = image.find('@'); at != std::string::npos) {
    repository = image.substr(0, at);
    reference = image.substr(at + 1);
  } else if (const auto colon = image.rfind(':');
             colon != std::string::npos && image.find('/', colon) == std::string::npos) {
    repository = image.substr(0, colon);
    reference = image.substr(colon + 1);
  }
  if (!layers::valid_repository_name(repository) ||
      !(layers::valid_tag(reference) || layers::digest::parse(reference))) {
    co_return co_await http::send_error(
        ex, errc::name_invalid, "expected {\"image\": \"repository:tag\"} or repository@digest");
  }
  auto summary = co_await seed_image(repository, reference);
  std::string body = summary.dump();
  co_return co_await http::send_text(ex, std::move(body), "application/json");
}

std::string seeder::metrics_text() const {
  const auto totals = swarm_.totals();
  const auto& fetches = fetcher_.counters();
  std::string out;
  auto add = [&out](const char* name, const char* type, const char* help, std::uint64_t value) {
    out += std::string("# HELP rookery_seeder_") + name + " " + help + "\n# TYPE rookery_seeder_" +
           name + " " + type + "\nrookery_seeder_" + name + " " + std::to_string(value) + "\n";
  };
  add("seeded_blobs", "gauge", "Blobs being seeded.", seeded_.size());
  add("bytes_uploaded_total", "counter", "Payload bytes sent to peers.", totals.uploaded);
  add("web_seed_bytes_total", "counter", "Bytes served over HTTP as a web seed.", web_seed_bytes_);
  add("registry_bytes_total", "counter", "Blob bytes fetched from the registry.",
      fetches.bytes_fetched);
  add("registry_fetches_total", "counter", "Blob fetches from the registry.", fetches.fetches);
  add("notifications_total", "counter", "Manifest push events queued for seeding.", notifications_);
  add("notifications_coalesced_total", "counter",
      "Push events for an image already queued or being seeded.", notifications_coalesced_);
  add("notifications_refused_total", "counter",
      "Notification requests refused (no or wrong secret, queue full).", notifications_refused_);
  add("image_seeds_running", "gauge", "Images being seeded from notifications now.",
      image_seeds_running_);
  add("image_seeds_peak", "gauge", "Most images ever seeded from notifications at once.",
      image_seeds_peak_);
  add("image_seeds_queued", "gauge", "Images waiting to be seeded.", image_queue_.size());
  add("store_bytes", "gauge", "Bytes in the seeder's blob store.", store_.total_bytes());
  add("torrents_served_total", "counter", "Metainfo answers given.", torrents_served_);
  add("tracker_peers", "gauge", "Peers the built-in tracker knows.", tracker_.peer_count());
  add("hash_failures_total", "counter", "Pieces from peers that failed their hash check.",
      swarm_.hash_failures());
  return out;
}

std::string seeder::status_json(bool detailed) const {
  nlohmann::json out = {{"seeded_blobs", seeded_.size()},
                        {"pending", pending_.size()},
                        {"image_seeds_running", image_seeds_running_},
                        {"image_seeds_queued", image_queue_.size()},
                        {"store_bytes", store_.total_bytes()},
                        {"bt_port", swarm_.listen_port()}};
  if (!detailed) return out.dump();
  nlohmann::json blobs = nlohmann::json::array();
  for (const auto& [d, s] : seeded_) {
    const auto st = swarm_.stats(d);
    blobs.push_back({{"digest", d.str()},
                     {"size", s->size},
                     {"info_hash", s->info_hash},
                     {"uploaded", st.uploaded},
                     {"peers", st.peers}});
  }
  out["seeding"] = std::move(blobs);
  return out.dump();
}

}  // namespace rookery::seeder
