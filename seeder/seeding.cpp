#include "seeder/seeding.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "http/offload.hpp"
#include "layers/error.hpp"
#include "layers/manifest.hpp"

namespace rookery::seeder {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace {

// Manifests of one repository, read from the registry with the seeder's own credentials.
class registry_manifests final : public manifest_reader {
 public:
  registry_manifests(pull::upstream& registry, std::string repository)
      : registry_(registry), repository_(std::move(repository)) {}

  asio::awaitable<std::optional<layers::manifest>> read(const std::string& reference,
                                                        std::string& why) override {
    std::error_code ec;
    const pull::upstream_call call{bhttp::verb::get,
                                   "/v2/" + repository_ + "/manifests/" + reference,
                                   {},
                                   std::string(layers::media_type::accept_all),
                                   {}};
    auto res = co_await registry_.send(call, ec);
    if (!res) {
      why = "registry unreachable: " + ec.message();
      co_return std::nullopt;
    }
    if (res->status() != 200) {
      why = "registry answered " + std::to_string(res->status());
      co_return std::nullopt;
    }
    std::string body;
    if ((ec = co_await res->read_body(body, layers::max_manifest_bytes))) {
      why = "manifest body unreadable: " + ec.message();
      co_return std::nullopt;
    }
    co_return layers::parse_manifest(body, res->header(bhttp::field::content_type), &why);
  }

 private:
  pull::upstream& registry_;
  std::string repository_;
};

}  // namespace

seeding::seeding(asio::io_context& io, layers::blob_store& store, pull::upstream& registry,
                 p2p::session& swarm, tracker& trk, seeding_options opts)
    : io_(io),
      store_(store),
      registry_(registry),
      swarm_(swarm),
      tracker_(trk),
      opts_(std::move(opts)),
      saved_(store_.root() / "torrents"),
      fetcher_(io, store, source_, disk_),
      verifier_(io, store, disk_) {}

std::shared_ptr<const seeded_blob> seeding::find(const layers::digest& d) const {
  auto it = seeded_.find(d);
  return it == seeded_.end() ? nullptr : it->second;
}

std::shared_ptr<const seeded_blob> seeding::start_seeding(const layers::digest& d,
                                                          std::string metainfo,
                                                          std::error_code& ec) {
  auto t = swarm_.add(d, metainfo, store_.directory(d.algorithm()), /*seed=*/true,
                      /*keep_web_seeds=*/false, ec);
  auto info_hash = t ? layers::info_hash_of(metainfo) : std::nullopt;
  if (!info_hash) {
    if (!ec) ec = errc::store_failure;
    return nullptr;
  }
  tracker_.allow(*info_hash);
  auto s =
      std::make_shared<const seeded_blob>(seeded_blob{std::move(metainfo), *info_hash, t->size()});
  seeded_[d] = s;
  spdlog::info("seeding {} ({} bytes, info-hash {})", d.str(), s->size, layers::to_hex(*info_hash));
  return s;
}

asio::awaitable<void> seeding::restore() {
  for (const auto& d : saved_.list()) {
    if (!store_.contains(d)) saved_.remove(d);
  }
  for (const auto& d : store_.list()) {
    std::error_code ec;
    auto metainfo = saved_.load(d);
    if (metainfo && start_seeding(d, std::move(*metainfo), ec)) continue;
    auto result = co_await ensure("", d, "");  // nothing usable saved: hash the stored blob
    if (result.ec) spdlog::warn("could not seed stored blob {}: {}", d.str(), result.ec.message());
  }
  spdlog::info("restored {} seeded blobs", seeded_.size());
}

asio::awaitable<seed_result> seeding::ensure(const std::string& repository, const layers::digest& d,
                                             const std::string& authorization) {
  seed_result result;
  if ((result.blob = find(d))) co_return result;
  if (!store_.contains(d)) {
    if (repository.empty()) {
      result.ec = errc::blob_unknown;
      co_return result;
    }
    // The fetcher makes concurrent callers share one fetch from the registry.
    const pull::blob_request request{&registry_, repository, d, authorization};
    auto started = co_await fetcher_.start(request);
    auto f = started.job;
    if (!f) {
      result.refusal = std::move(started.refusal);
      result.ec = started.error;
      co_return result;
    }
    while (f->state == pull::fetch::phase::running) co_await f->changed();
    if (f->state == pull::fetch::phase::failed) {
      result.ec = f->error ? f->error : make_error_code(errc::blob_unknown);
      co_return result;
    }
    // Whoever resumed first after the commit has made the torrent already.
    if ((result.blob = find(d))) co_return result;
  }
  auto made = co_await make_torrent(d, result.ec);
  if (!made) co_return result;
  if ((result.blob = find(d))) co_return result;  // made meanwhile by another caller
  if (!saved_.save(d, made->metainfo))
    spdlog::warn("could not save the metainfo of {}; it will be hashed again after a restart",
                 d.str());
  result.blob = start_seeding(d, std::move(made->metainfo), result.ec);
  co_return result;
}

asio::awaitable<std::optional<layers::layer_torrent>> seeding::make_torrent(const layers::digest& d,
                                                                            std::error_code& ec) {
  const layers::torrent_extras extras{{}, opts_.fleet_ca_pem};
  // A blob that just streamed in brought its piece hashes along.
  if (auto pieces = source_.take(d))
    co_return layers::build_layer_torrent(d, std::move(*pieces), opts_.trackers, extras, ec);
  auto lease = store_.open(d);
  if (!lease) {
    ec = errc::blob_unknown;
    co_return std::nullopt;
  }
  if (lease->size() == 0) {
    ec = errc::size_invalid;  // the empty blob needs no torrent: every client has it
    co_return std::nullopt;
  }
  const std::vector<std::string> trackers = opts_.trackers;
  auto made = co_await http::offload(io_, disk_, [&] {
    std::error_code hash_ec;
    auto t = layers::make_layer_torrent(lease->fd(), lease->size(), d, trackers, extras, hash_ec);
    ec = hash_ec;
    return t;
  });
  // The pass hashed every byte: the store learns what it found.
  if (made) store_.mark_verified(d);
  if (ec == errc::digest_invalid) {
    spdlog::warn("stored blob {} does not match its digest: quarantined", d.str());
    store_.quarantine(d);
  }
  co_return made;
}

asio::awaitable<bool> seeding::verify_stored(const layers::blob_store::lease& blob) {
  const pull::verify_outcome outcome = co_await verifier_.verify(blob);
  if (outcome.hashed && !outcome.intact) {
    spdlog::warn("stored blob {} does not match its digest: quarantined, no longer seeded",
                 blob.digest().str());
    stop_seeding(blob.digest());
  }
  co_return outcome.intact;
}

void seeding::stop_seeding(const layers::digest& d) {
  swarm_.remove(d);
  saved_.remove(d);
  if (auto it = seeded_.find(d); it != seeded_.end()) {
    tracker_.forget(it->second->info_hash);
    seeded_.erase(it);
  }
}

void seeding::evicted(const layers::digest& d) {
  swarm_.remove(d);  // peers stop getting bytes before the file goes
  saved_.remove(d);
  asio::post(io_, [this, d] {
    auto it = seeded_.find(d);
    if (it == seeded_.end()) return;
    tracker_.forget(it->second->info_hash);
    seeded_.erase(it);
  });
}

asio::awaitable<nlohmann::json> seeding::seed_image(std::string repository, std::string reference) {
  nlohmann::json summary = {{"repository", repository}, {"reference", reference}};
  registry_manifests reader(registry_, repository);
  const walk_result walk = co_await walk_image(reader, reference, opts_.walk);
  if (!walk.error.empty()) {
    spdlog::warn("image {}@{} only in part: {}", repository, reference, walk.error);
    summary["error"] = walk.error;
  }
  nlohmann::json seeded = nlohmann::json::array();
  for (const auto& blob : walk.blobs) {
    auto result = co_await ensure(repository, blob.digest, "");
    nlohmann::json entry = {{"digest", blob.digest.str()}, {"size", blob.size}};
    if (result.blob) {
      entry["info_hash"] = layers::to_hex(result.blob->info_hash);
    } else {
      entry["error"] = result.refusal.status
                           ? "registry answered " + std::to_string(result.refusal.status)
                           : result.ec.message();
    }
    seeded.push_back(entry);
  }
  summary["blobs"] = seeded;
  co_return summary;
}

}  // namespace rookery::seeder
