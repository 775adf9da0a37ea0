#include "registry-proxy/prewarm.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <random>

#include "layers/error.hpp"
#include "layers/reference.hpp"

namespace rookery::proxy {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using nlohmann::json;
namespace {

std::string string_field(const json& doc, const char* key, bool& bad) {
  const auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return {};
  if (!it->is_string()) bad = true;
  return it->is_string() ? it->get<std::string>() : std::string();
}

// GETs one manifest and checks it against a digest reference; false with `out` saying why.
asio::awaitable<bool> read_manifest(pull::upstream& up, const std::string& repository,
                                    const std::string& reference, const std::string& authorization,
                                    resolved_image& out, std::string& body,
                                    std::string& content_type) {
  std::error_code ec;
  pull::upstream_call call{bhttp::verb::get,
                           "/v2/" + repository + "/manifests/" + reference,
                           authorization,
                           std::string(layers::media_type::accept_all),
                           {}};
  call.twin = true;
  auto res = co_await up.send(call, ec);
  if (!res) {
    out.error = ec;
    out.why = "upstream " + up.display_name() + " did not answer";
    co_return false;
  }
  if (res->status() != 200) {
    out.refusal = co_await pull::read_refusal(*res);
    co_return false;
  }
  content_type = res->header(bhttp::field::content_type);
  if (co_await res->read_body(body, layers::max_manifest_bytes)) {
    out.error = errc::upstream_bad_response;
    out.why = "upstream manifest incomplete or larger than 4 MiB";
    co_return false;
  }
  co_return true;
}

}  // namespace

std::optional<prewarm_request> parse_prewarm_request(std::string_view body, std::string& why) {
  const auto doc = json::parse(body, nullptr, false);
  if (!doc.is_object()) {
    why = "expected a JSON object {\"image\": \"repository:tag\"}";
    return std::nullopt;
  }
  bool bad = false;
  const std::string image = string_field(doc, "image", bad);
  const std::string platform = string_field(doc, "platform", bad);
  prewarm_request out;
  out.ns = string_field(doc, "ns", bad);
  const auto ref = layers::parse_image_reference(image);
  if (bad || !ref) {
    why =
        "\"image\" must be repository[:tag] or repository@digest; \"platform\" and \"ns\" strings";
    return std::nullopt;
  }
  out.repository = ref->repository;
  out.reference = ref->reference;
  out.platform = layers::host_platform();
  if (!platform.empty()) {
    const auto p = layers::parse_platform(platform);
    if (!p) {
      why = "\"platform\" must be os/architecture[/variant], e.g. linux/amd64";
      return std::nullopt;
    }
    out.platform = *p;
  }
  return out;
}

asio::awaitable<resolved_image> resolve_image(pull::upstream& up, const prewarm_request& request,
                                              const std::string& authorization) {
  resolved_image out;
  std::string reference = request.reference;
  for (int depth = 0; depth < 2; ++depth) {
    std::string body, content_type;
    if (!co_await read_manifest(up, request.repository, reference, authorization, out, body,
                                content_type))
      co_return out;
    const auto pinned = layers::digest::parse(reference);
    const auto actual =
        layers::digest_of(body, pinned ? pinned->algorithm() : layers::digest_algorithm::sha256);
    if (pinned && actual != *pinned) {
      out.error = errc::upstream_bad_response;
      out.why = "upstream manifest does not match its digest";
      co_return out;
    }
    const auto m = layers::parse_manifest(body, content_type, &out.why);
    if (!m) {
      out.error = errc::manifest_invalid;
      co_return out;
    }
    out.manifests.emplace_back(actual, std::move(body));
    if (m->kind == layers::manifest_kind::image) {
      out.manifest = actual;
      out.blobs = m->blobs();
      co_return out;
    }
    const auto* child = layers::select_platform(*m, request.platform);
    if (!child) {
      out.error = errc::manifest_unknown;
      out.why = "the image index has no manifest for " + layers::to_string(request.platform);
      co_return out;
    }
    reference = child->digest.str();
  }
  out.error = errc::manifest_invalid;
  out.why = "an image index names another index";
  co_return out;
}

// ---- prewarm_job ------------------------------------------------------------

prewarm_job::prewarm_job(asio::io_context& io, std::string id_, std::string key_)
    : id(std::move(id_)),
      key(std::move(key_)),
      started(std::chrono::steady_clock::now()),
      signal_(io) {
  signal_.expires_at(asio::steady_timer::time_point::max());
}

asio::awaitable<void> prewarm_job::changed() {
  boost::system::error_code ignored;  // cancel() is the wake-up
  co_await signal_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

void prewarm_job::add_event(json event) {
  event["totals"] = prewarm_totals(*this);
  events.push_back(event.dump() + "\n");
  signal_.cancel();
}

json prewarm_totals(const prewarm_job& job) {
  std::uint64_t total = 0, written = 0, peers = 0;
  for (const auto& b : job.blobs) total += b.size;
  for (std::size_t i = 0; i < job.written.size(); ++i) {
    written += job.written[i];
    peers += job.from_peers[i];
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - job.started).count();
  return {{"bytes", written + job.cached_bytes},
          {"total_bytes", total},
          {"from_peers", peers},
          {"from_upstream", written - peers},
          {"cached", job.cached_bytes},
          {"blobs", job.blobs.size()},
          {"blobs_done", job.blobs_done},
          {"blobs_failed", job.blobs_failed},
          {"seconds", std::round(seconds * 1000) / 1000}};
}

// ---- prewarmer -------------------------------------------------------------

prewarmer::prewarmer(asio::io_context& io, pull::blob_fetcher& fetcher, layers::blob_store& blobs,
                     pull::fetch_stagger& stagger, prewarm_limits limits)
    : io_(io), fetcher_(fetcher), blobs_(blobs), stagger_(stagger), limits_(limits) {}

std::shared_ptr<prewarm_job> prewarmer::find(std::string_view id) const {
  const auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : it->second;
}

prewarmer::started prewarmer::start(pull::upstream& up, const std::string& repository,
                                    const std::string& image, const resolved_image& resolved,
                                    const std::string& authorization) {
  const std::string manifest = resolved.manifest->str();
  std::string key = up.display_name() + "|" + repository + "|" + manifest;
  if (const auto it = running_by_key_.find(key); it != running_by_key_.end())
    return {find(it->second), true};
  if (running_ >= limits_.running) return {};
  auto job = std::make_shared<prewarm_job>(io_, random_prewarm_id(), std::move(key));
  job->from = &up;
  job->repository = repository;
  job->image = image;
  job->authorization = authorization;
  job->blobs = resolved.blobs;
  job->written.assign(job->blobs.size(), 0);
  job->from_peers.assign(job->blobs.size(), 0);
  jobs_.emplace(job->id, job);
  running_by_key_.emplace(job->key, job->id);
  order_.push_back(job->id);
  ++running_;
  forget_old();
  job->add_event({{"event", "prewarm"}, {"id", job->id}, {"image", image}, {"manifest", manifest}});
  job->workers = std::min(limits_.blobs_at_once, job->blobs.size());
  if (job->workers == 0) finish(*job);
  for (std::size_t w = 0; w < job->workers; ++w) asio::co_spawn(io_, worker(job), asio::detached);
  return {job, false};
}

asio::awaitable<void> prewarmer::worker(std::shared_ptr<prewarm_job> job) {
  while (job->next_blob < job->blobs.size()) {
    const std::size_t i = job->next_blob++;
    co_await warm_blob(job, i);
  }
  if (--job->workers == 0) finish(*job);
}

asio::awaitable<void> prewarmer::warm_blob(std::shared_ptr<prewarm_job> job, std::size_t i) {
  const layers::descriptor blob = job->blobs[i];
  const auto cached = [&] {
    job->cached_bytes += blob.size;
    ++job->blobs_done;
    blob_event(*job, i, "blob_done", {{"cached", true}});
  };
  if (blob.size == 0 || blobs_.contains(blob.digest)) co_return cached();
  blob_event(*job, i, "blob_started");
  std::string error;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const pull::blob_request request{job->from, job->repository, blob.digest, job->authorization};
    const auto maybe_started = co_await stagger_.start(request);
    if (!maybe_started) {  // stored while it waited its turn (by a client's fetch)
      job->written[i] = job->from_peers[i] = 0;  // what a failed first try counted is not in
      co_return cached();
    }
    const auto& started = *maybe_started;
    if (!started.job) {
      error = "the fetch it joined failed";
      if (started.joined) continue;  // someone else's fetch failed: ours gets its own try
      error = started.refusal.status ? "upstream answered " + std::to_string(started.refusal.status)
              : started.error        ? started.error.message()
                                     : std::string("blob unknown");
      break;
    }
    error = co_await watch(job, i, started.job);
    if (error.empty() || !started.joined) break;
  }
  if (error.empty()) {
    ++job->blobs_done;
    blob_event(*job, i, "blob_done", {{"cached", false}});
    co_return;
  }
  job->written[i] = job->from_peers[i] = 0;  // nothing of it is in the store
  ++job->blobs_failed;
  if (job->first_error.empty()) job->first_error = blob.digest.str() + ": " + error;
  blob_event(*job, i, "blob_failed", {{"error", error}});
}

asio::awaitable<std::string> prewarmer::watch(std::shared_ptr<prewarm_job> job, std::size_t i,
                                              std::shared_ptr<pull::fetch> f) {
  auto reported = std::chrono::steady_clock::now();
  for (;;) {
    job->written[i] = f->written;
    job->from_peers[i] = f->from_peers;
    if (f->state == pull::fetch::phase::committed) co_return std::string();
    if (f->state == pull::fetch::phase::failed)
      co_return f->error ? f->error.message() : std::string("fetch failed");
    const auto now = std::chrono::steady_clock::now();
    if (now - reported >= limits_.progress_every) {
      blob_event(*job, i, "blob_progress");
      reported = now;
    }
    co_await f->changed();
  }
}

void prewarmer::blob_event(prewarm_job& job, std::size_t i, const char* event, json extra) {
  const bool progress = std::string_view(event) == "blob_progress";
  if (progress) {
    // Past the limit, a progress line at most every few seconds: memory stays bounded.
    const auto now = std::chrono::steady_clock::now();
    if (job.events.size() >= limits_.events &&
        now - job.last_progress < limits_.slow_progress_every)
      return;
    job.last_progress = now;
  }
  const auto& blob = job.blobs[i];
  json out = {{"event", event},
              {"digest", blob.digest.str()},
              {"size", blob.size},
              {"bytes", job.written[i]},
              {"from_peers", job.from_peers[i]},
              {"from_upstream", job.written[i] - job.from_peers[i]}};
  out.update(extra);
  job.add_event(std::move(out));
}

void prewarmer::finish(prewarm_job& job) {
  job.finished = true;
  job.authorization.clear();  // kept jobs hold no credentials
  --running_;
  running_by_key_.erase(job.key);
  json last = {{"event", job.blobs_failed ? "failed" : "done"}, {"id", job.id}};
  if (job.blobs_failed) {
    last["error"] = job.first_error;
    if (job.blobs_failed > 1)
      last["error"] =
          job.first_error + " (and " + std::to_string(job.blobs_failed - 1) + " more blobs failed)";
  }
  job.add_event(std::move(last));
  const json totals = prewarm_totals(job);
  spdlog::info("prewarm {} of {}: {} {}", job.id, job.image, job.blobs_failed ? "failed" : "done",
               totals.dump());
}

void prewarmer::forget_old() {
  while (order_.size() > limits_.kept) {
    // The oldest finished job goes; running ones are at most limits_.running < limits_.kept.
    auto it = std::find_if(order_.begin(), order_.end(), [this](const std::string& id) {
      const auto job = find(id);
      return !job || job->finished;
    });
    if (it == order_.end()) return;
    jobs_.erase(*it);
    order_.erase(it);
  }
}

asio::awaitable<void> prewarmer::follow(http::exchange& ex, std::shared_ptr<prewarm_job> job) {
  http::response_header header;
  header.result(bhttp::status::ok);
  header.set(bhttp::field::content_type, "application/x-ndjson");
  header.set(bhttp::field::cache_control, "no-store");
  if (co_await ex.send_chunked_header(std::move(header)) || ex.is_head()) co_return;
  constexpr std::size_t chunk_limit = 64 * 1024;
  std::size_t sent = 0;
  for (;;) {
    std::string batch;
    while (sent < job->events.size() && batch.size() < chunk_limit) batch += job->events[sent++];
    if (!batch.empty()) {
      if (co_await ex.write_chunk(batch)) co_return;
      continue;
    }
    if (job->finished) break;
    co_await job->changed();
  }
  co_await ex.end_chunks();
}

std::string random_prewarm_id() {
  std::random_device rd;
  std::string out;
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 4; ++i) {
    const std::uint32_t word = rd();
    for (int nibble = 0; nibble < 8; ++nibble) out += hex[(word >> (4 * nibble)) & 0xf];
  }
  return out;
}

bool valid_prewarm_id(std::string_view text) {
  return text.size() == 32 && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace rookery::proxy
