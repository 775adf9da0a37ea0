#include "registry-proxy/proxy.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "http/blob_response.hpp"
#include "http/offload.hpp"
#include "http/prometheus.hpp"
#include "http/responses.hpp"
#include "layers/error.hpp"
#include "layers/manifest.hpp"
#include "layers/store_check.hpp"
#include "registry-proxy/detail/read_lease.hpp"

namespace rookery::proxy {
using pull::access_cache;
using pull::access_verdict;
using pull::blob_fetcher;
using pull::blob_request;
using pull::blob_source;
using pull::fetch;
using pull::upstream;
using pull::upstream_call;
using pull::upstream_refusal;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace {

std::string header_of(const http::request& req, bhttp::field f) {
  return std::string(req[f]);
}

// Every Accept field of the request as one list (RFC 9110 5.3). Docker sends one field per
// media type, in an order that changes from pull to pull: forwarding only the first made the
// registry refuse an OCI manifest to it now and then.
std::string accept_list_of(const http::request& req) {
  std::string out;
  const auto [first, last] = req.equal_range(bhttp::field::accept);
  for (auto it = first; it != last; ++it) {
    if (!out.empty()) out += ", ";
    out.append(it->value().data(), it->value().size());
  }
  return out;
}

}  // namespace

registry_proxy::registry_proxy(asio::io_context& io, layers::blob_store& blobs,
                               layers::blob_store& manifests,
                               std::vector<std::unique_ptr<upstream>> upstreams,
                               blob_source& source, proxy_options opts, p2p::session* swarm,
                               const swarm_source* swarm_src)
    : io_(io),
      blobs_(blobs),
      manifests_(manifests),
      upstreams_(std::move(upstreams)),
      opts_(std::move(opts)),
      access_(opts_.access_fresh),
      source_(source),
      swarm_(swarm),
      swarm_source_(swarm_src),
      fetcher_(io, blobs, source, disk_, opts_.max_fetches),
      stagger_(io, fetcher_, blobs, opts_.stagger),
      prefetcher_(io, fetcher_, blobs, stagger_, opts_.prefetch_limits),
      verifier_(io, blobs, disk_),
      prewarm_(io, fetcher_, blobs, stagger_),
      tags_(opts_.tag_stale) {}

upstream* registry_proxy::select_upstream(const std::string& ns) {
  // No ns (Docker's registry-mirrors) → the default upstream; an ns → only an allow-listed one.
  for (auto& up : upstreams_) {
    if (up->config().name == ns) return up.get();
  }
  return nullptr;
}

asio::awaitable<void> registry_proxy::handle(http::exchange& ex) {
  ++metrics_.requests;
  const auto& req = ex.req();
  ex.always_set("Docker-Distribution-API-Version", "registry/2.0");
  std::error_code ec;
  route r = parse_route(req.target(), ec);
  const bool read = req.method() == bhttp::verb::get || req.method() == bhttp::verb::head;
  const http::latency_timer timer(latency_of(r.kind, read));

  switch (r.kind) {
    case route_kind::metrics: {
      // Strings are named before co_await throughout: GCC 12 destroys some temporaries in
      // co_await expressions twice (braced aggregates, ?: and + chains).
      std::string text = metrics_text();
      co_return co_await http::send_text(ex, std::move(text), http::prometheus_text::content_type);
    }
    case route_kind::healthz:
      co_return co_await http::send_text(ex, "ok\n", "text/plain");
    case route_kind::status: {
      std::string text = status_json(opts_.operator_token.admits(req[bhttp::field::authorization]));
      co_return co_await http::send_text(ex, std::move(text), "application/json");
    }
    case route_kind::prewarm:
    case route_kind::prewarm_progress:
      co_return co_await handle_prewarm(ex, r);
    case route_kind::gc:
      co_return co_await handle_gc(ex);
    case route_kind::unknown:
      if (req.target().substr(0, 4) != "/v2/")
        co_return co_await http::send_error(ex, errc::not_found);
      if (!read) co_return co_await refuse_method(ex);
      // Tag lists, the catalog, referrers: not offered (404, so clients fall back).
      co_return co_await http::send_error(ex, errc::endpoint_unsupported,
                                          "this mirror serves manifests and blobs only");
    default:
      break;
  }
  if (!read) co_return co_await refuse_method(ex);
  if (ec) co_return co_await http::send_error(ex, ec, r.detail);
  upstream* up = select_upstream(r.ns);
  if (!up) {
    std::string detail =
        r.ns.empty() ? std::string("no default upstream configured")
                     : "namespace '" + r.ns.substr(0, 128) + "' is not in this mirror's allow-list";
    co_return co_await http::send_error(ex, errc::name_unknown, std::move(detail));
  }
  if (!r.ns.empty()) ex.always_set("OCI-Namespace", r.ns);
  switch (r.kind) {
    case route_kind::base:
      co_return co_await handle_base(ex, *up);
    case route_kind::manifest:
      co_return co_await handle_manifest(ex, *up, r);
    case route_kind::blob:
      co_return co_await handle_blob(ex, *up, r);
    default:
      co_return co_await http::send_error(ex, errc::not_found);
  }
}

asio::awaitable<void> registry_proxy::refuse_method(http::exchange& ex) {
  ex.always_set("Allow", "GET, HEAD");  // RFC 9110: a 405 names the methods that would work
  co_await http::send_error(ex, errc::unsupported, "this mirror only serves pulls");
}

asio::awaitable<void> registry_proxy::handle_base(http::exchange& ex, upstream& up) {
  // Pass the upstream's auth challenge through so clients log in the usual way; when the
  // upstream is unreachable, still say yes: cached content can be served.
  std::error_code ec;
  const upstream_call call{
      bhttp::verb::get, "/v2/", header_of(ex.req(), bhttp::field::authorization), {}, {}};
  auto res = co_await up.send(call, ec);
  if (res && res->status() == 401) {
    const upstream_refusal refusal = co_await pull::read_refusal(*res);
    co_return co_await pull::send_refusal(ex, refusal);
  }
  co_return co_await http::send_text(ex, "{}", "application/json");
}

asio::awaitable<registry_proxy::access> registry_proxy::confirm_access(
    upstream& up, const route& r, const char* kind, const std::string& authorization,
    upstream_refusal& refusal) {
  const std::string digest = r.digest->str();
  const auto key = access_cache::key(up.display_name(), r.name, digest, authorization);
  const auto verdict = access_.check(key);
  if (verdict == access_verdict::fresh) co_return access::allowed;
  ++metrics_.access_checks;
  std::error_code ec;
  upstream_call call{bhttp::verb::head,
                     "/v2/" + r.name + "/" + kind + "/" + digest,
                     authorization,
                     std::string(layers::media_type::accept_all),
                     {}};
  call.twin = true;
  auto res = co_await up.send(call, ec);
  if (res && res->status() == 200) {
    access_.allow(key);
    co_return access::allowed;
  }
  if (res && res->status() < 500) {
    access_.forget(key);
    refusal = co_await pull::read_refusal(*res);
    co_return access::refused;
  }
  // Upstream down: serve what this client, or anyone anonymously, was allowed before.
  ++metrics_.upstream_errors;
  const auto anonymous = access_cache::key(up.display_name(), r.name, digest, "");
  if (verdict == access_verdict::stale || access_.check(anonymous) != access_verdict::unknown) {
    co_return access::allowed;
  }
  co_return access::unavailable;
}

asio::awaitable<bool> registry_proxy::check_access(http::exchange& ex, upstream& up, const route& r,
                                                   const char* kind,
                                                   const std::string& authorization) {
  upstream_refusal refusal;
  switch (co_await confirm_access(up, r, kind, authorization, refusal)) {
    case access::allowed:
      co_return true;
    case access::refused:
      co_await pull::send_refusal(ex, refusal);
      co_return false;
    case access::unavailable:
      co_await http::send_error(ex, errc::upstream_unavailable);
      co_return false;
  }
  co_return false;
}

asio::awaitable<void> registry_proxy::handle_manifest(http::exchange& ex, upstream& up,
                                                      const route& r) {
  const auto& req = ex.req();
  const std::string authorization = header_of(req, bhttp::field::authorization);
  // Forward what the client understands; a client that names no manifest type (curl's */*)
  // gets all four, or registries refuse OCI manifests to it.
  std::string accept = accept_list_of(req);
  if (accept.find("manifest") == std::string::npos) accept = layers::media_type::accept_all;

  if (r.digest && co_await serve_cached_manifest(ex, up, r, authorization)) co_return;

  // Tags always ask upstream: they move.
  ++metrics_.manifest_upstream_requests;
  const std::string reference = r.digest ? r.digest->str() : r.tag;
  std::error_code ec;
  upstream_call call{
      req.method(), "/v2/" + r.name + "/manifests/" + reference, authorization, accept, {}};
  call.twin = true;
  auto res = co_await up.send(call, ec);
  if (!res) {
    ++metrics_.upstream_errors;
    spdlog::warn("{} {}: upstream {} did not answer ({})",
                 std::string(bhttp::to_string(call.method)), call.path, up.display_name(),
                 ec.message());
    std::string detail = "upstream " + up.display_name() + " did not answer";
    if (!r.digest && tags_.enabled())
      co_return co_await answer_tag_unreachable(ex, up, r, authorization, std::move(detail));
    co_return co_await http::send_error(ex, ec, std::move(detail));
  }
  if (res->status() >= 500 && !r.digest && tags_.enabled()) {
    ++metrics_.upstream_errors;
    std::string detail =
        "upstream " + up.display_name() + " answered " + std::to_string(res->status());
    co_return co_await answer_tag_unreachable(ex, up, r, authorization, std::move(detail));
  }
  if (res->status() != 200) {
    const upstream_refusal refusal = co_await pull::read_refusal(*res);
    co_return co_await pull::send_refusal(ex, refusal);
  }
  const std::string content_type = res->header(bhttp::field::content_type);
  const std::string upstream_digest = std::string(res->headers()["Docker-Content-Digest"]);
  if (!r.digest) remember_tag(up, r, upstream_digest);
  if (ex.is_head()) {
    http::response_header header;
    header.result(bhttp::status::ok);
    header.set(bhttp::field::content_type, content_type);
    if (auto length = res->content_length())
      header.set(bhttp::field::content_length, std::to_string(*length));
    if (!upstream_digest.empty()) header.set("Docker-Content-Digest", upstream_digest);
    co_await ex.send_header(std::move(header));
    co_return;
  }
  std::string body;
  if ((ec = co_await res->read_body(body, layers::max_manifest_bytes))) {
    std::string detail = ec == errc::size_invalid ? "upstream manifest larger than 4 MiB"
                                                  : "upstream manifest body incomplete";
    co_return co_await http::send_error(ex, errc::upstream_bad_response, std::move(detail));
  }
  const auto algorithm = r.digest ? r.digest->algorithm() : layers::digest_algorithm::sha256;
  const layers::digest actual = layers::digest_of(body, algorithm);
  if ((r.digest && actual != *r.digest) ||
      (!upstream_digest.empty() && upstream_digest.rfind(actual.algorithm_name(), 0) == 0 &&
       upstream_digest != actual.str())) {
    co_return co_await http::send_error(ex, errc::upstream_bad_response,
                                        "upstream manifest does not match its digest");
  }
  // Cache what parses, under its digest, so digest-pinned pulls work while upstream is down.
  const auto parsed = layers::parse_manifest(body, content_type);
  if (parsed) store_manifest(actual, body);
  if (!r.digest && parsed) remember_tag(up, r, actual.str());
  // Whoever got it by tag may read it by digest: containerd resolves by tag, then fetches by
  // digest.
  access_.allow(access_cache::key(up.display_name(), r.name, actual.str(), authorization));
  if (parsed) prefetch(up, r.name, *parsed, authorization);
  const std::string served_digest = upstream_digest.empty() ? actual.str() : upstream_digest;
  co_return co_await serve_manifest(ex, body, content_type, served_digest);
}

asio::awaitable<bool> registry_proxy::serve_cached_manifest(http::exchange& ex, upstream& up,
                                                            const route& r,
                                                            const std::string& authorization) {
  auto lease = manifests_.open(*r.digest);
  if (!lease) co_return false;
  if (!co_await check_access(ex, up, r, "manifests", authorization)) co_return true;
  std::string body;
  // At most 4 MiB: hashed on every serve, so a damaged copy is never served.
  const bool intact = detail::read_lease(*lease, body) &&
                      layers::digest_of(body, r.digest->algorithm()) == *r.digest;
  auto parsed = intact ? layers::parse_manifest(body) : std::nullopt;
  if (!parsed) {
    if (!intact) manifests_.quarantine(*r.digest);
    co_return false;
  }
  ++metrics_.manifest_cache_hits;
  if (!ex.is_head()) prefetch(up, r.name, *parsed, authorization);
  const std::string digest = r.digest->str();
  co_await serve_manifest(ex, body, parsed->media_type, digest);
  co_return true;
}

void registry_proxy::store_manifest(const layers::digest& d, const std::string& body) {
  if (manifests_.contains(d)) return;
  std::error_code ec;
  if (auto writer = manifests_.begin(d, body.size(), ec)) {
    if (!writer->write(body.data(), body.size())) ec = writer->commit();
  }
  if (ec) spdlog::warn("could not cache manifest {}: {}", d.str(), ec.message());
}

void registry_proxy::prefetch(upstream& up, const std::string& repository,
                              const layers::manifest& manifest, const std::string& authorization) {
  if (!opts_.prefetch) return;
  for (const auto& blob : manifest.blobs()) {
    if (blob.size == 0 || blobs_.contains(blob.digest) || fetcher_.find(blob.digest)) continue;
    // Registries grant pulls per repository: whoever read the manifest may read its blobs.
    access_.allow(
        access_cache::key(up.display_name(), repository, blob.digest.str(), authorization));
    if (prefetcher_.push(blob_request{&up, repository, blob.digest, authorization}))
      ++metrics_.blob_prefetches;
  }
}

asio::awaitable<void> registry_proxy::handle_prewarm(http::exchange& ex, const route& r) {
  const auto method = ex.req().method();
  if (r.kind == route_kind::prewarm) {
    if (method != bhttp::verb::post)
      co_return co_await http::send_error(ex, errc::unsupported, "POST a JSON body here");
    co_return co_await start_prewarm(ex);
  }
  if (method != bhttp::verb::get && method != bhttp::verb::head)
    co_return co_await http::send_error(ex, errc::unsupported);
  auto job = prewarm_.find(r.name);
  if (!job) co_return co_await http::send_error(ex, errc::not_found, "no such prewarm");
  co_return co_await prewarm_.follow(ex, std::move(job));
}

asio::awaitable<void> registry_proxy::start_prewarm(http::exchange& ex) {
  std::string why;
  const auto request = parse_prewarm_request(ex.req().body(), why);
  if (!request) co_return co_await http::send_error(ex, errc::name_invalid, std::move(why));
  upstream* up = select_upstream(request->ns);
  if (!up) {
    std::string detail = "namespace '" + request->ns.substr(0, 128) + "' is not an upstream here";
    co_return co_await http::send_error(ex, errc::name_unknown, std::move(detail));
  }
  // Authorized like a pull: upstream reads the manifest with the caller's credentials (or, when
  // the caller sent none, the proxy's own), and whoever may read it may read its blobs.
  const std::string authorization = header_of(ex.req(), bhttp::field::authorization);
  const resolved_image image = co_await resolve_image(*up, *request, authorization);
  if (image.refusal.status) co_return co_await pull::send_refusal(ex, image.refusal);
  if (!image.manifest) co_return co_await http::send_error(ex, image.error, image.why);
  for (const auto& [d, body] : image.manifests) {
    store_manifest(d, body);
    access_.allow(
        access_cache::key(up->display_name(), request->repository, d.str(), authorization));
  }
  for (const auto& blob : image.blobs)
    access_.allow(access_cache::key(up->display_name(), request->repository, blob.digest.str(),
                                    authorization));
  const bool by_digest = request->reference.find(':') != std::string::npos;
  const std::string name = request->repository + (by_digest ? "@" : ":") + request->reference;
  const auto started = prewarm_.start(*up, request->repository, name, image, authorization);
  if (!started.job)
    co_return co_await http::send_error(ex, errc::too_many_requests, "too many prewarms running");
  std::uint64_t total = 0;
  for (const auto& blob : image.blobs) total += blob.size;
  const nlohmann::json answer = {{"id", started.job->id},
                                 {"joined", started.joined},
                                 {"image", name},
                                 {"manifest", image.manifest->str()},
                                 {"platform", layers::to_string(request->platform)},
                                 {"blobs", image.blobs.size()},
                                 {"total_bytes", total},
                                 {"progress", "/v1/prewarm/" + started.job->id}};
  http::string_response res{bhttp::status::accepted, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = answer.dump();
  co_await ex.send(std::move(res));
}

asio::awaitable<void> registry_proxy::serve_manifest(http::exchange& ex, const std::string& body,
                                                     const std::string& content_type,
                                                     const std::string& digest) {
  http::string_response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, content_type);
  res.set("Docker-Content-Digest", digest);
  res.body() = body;
  co_await ex.send(std::move(res));
}

asio::awaitable<void> registry_proxy::handle_blob(http::exchange& ex, upstream& up,
                                                  const route& r) {
  const std::string authorization = header_of(ex.req(), bhttp::field::authorization);
  static const layers::digest empty_blob = layers::digest_of("");
  if (*r.digest == empty_blob) {
    // Everyone has the empty blob: no fetch, no torrent, no secret.
    http::string_response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "application/octet-stream");
    res.set("Docker-Content-Digest", r.digest->str());
    co_await ex.send(std::move(res));
    co_return;
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (auto lease = blobs_.open(*r.digest)) {
      // Found on disk at start and never hashed since: hash it first. A bad one is quarantined
      // and the next attempt fetches it afresh.
      if (!lease->verified() && !co_await verify_cached(*lease)) continue;
      if (!co_await check_access(ex, up, r, "blobs", authorization)) co_return;
      ++metrics_.blob_cache_hits;
      co_return co_await serve_cached_blob(ex, *lease);
    }
    if (ex.is_head()) co_return co_await head_blob_upstream(ex, up, r);

    ++metrics_.blob_cache_misses;
    const blob_request request{&up, r.name, *r.digest, authorization};
    const auto started = co_await fetcher_.start(request);
    auto f = started.job;
    // Someone else's fetch failed (their credentials, perhaps): this client gets its own try.
    if (!f && started.joined) continue;
    if (!f) {
      if (started.refusal.status) co_return co_await pull::send_refusal(ex, started.refusal);
      co_return co_await http::send_error(
          ex, started.error ? started.error : make_error_code(errc::blob_unknown));
    }
    if (started.joined) {
      if (!co_await check_access(ex, up, r, "blobs", authorization)) co_return;
    } else {
      access_.allow(access_cache::key(up.display_name(), r.name, r.digest->str(), authorization));
    }
    if (!f->size || *f->size == 0 || f->state == pull::fetch::phase::committed) {
      // Nothing to stream ahead of verification: wait for the verdict, then serve the store's copy.
      while (f->state == pull::fetch::phase::running) co_await f->changed();
      if (f->state == pull::fetch::phase::failed)
        co_return co_await http::send_error(
            ex, f->error ? f->error : make_error_code(errc::blob_unknown));
      continue;
    }
    const std::string digest = r.digest->str();
    const auto span = co_await http::send_blob_header(ex, *f->size, digest);
    if (!span) co_return;
    if (auto err = co_await fetcher_.follow(f, ex, span->first, span->count)) {
      spdlog::info("stream of {} to a client ended early: {}", r.digest->str(), err.message());
    }
    co_return;
  }
  co_return co_await http::send_error(ex, errc::blob_unknown, "blob vanished while being served");
}

asio::awaitable<bool> registry_proxy::verify_cached(const layers::blob_store::lease& blob) {
  const pull::verify_outcome outcome = co_await verifier_.verify(blob);
  if (outcome.hashed) ++metrics_.blob_verifications;
  if (outcome.hashed && !outcome.intact) {
    spdlog::warn("cached blob {} does not match its digest: quarantined, fetching it again",
                 blob.digest().str());
  }
  co_return outcome.intact;
}

asio::awaitable<void> registry_proxy::head_blob_upstream(http::exchange& ex, upstream& up,
                                                         const route& r) {
  std::error_code ec;
  upstream_call call{bhttp::verb::head,
                     "/v2/" + r.name + "/blobs/" + r.digest->str(),
                     header_of(ex.req(), bhttp::field::authorization),
                     {},
                     {}};
  call.twin = true;
  auto res = co_await up.send(call, ec);
  if (!res) {
    ++metrics_.upstream_errors;
    co_return co_await http::send_error(ex, ec);
  }
  if (res->status() != 200) {
    const upstream_refusal refusal = co_await pull::read_refusal(*res);
    co_return co_await pull::send_refusal(ex, refusal);
  }
  http::response_header header;
  header.result(bhttp::status::ok);
  header.set(bhttp::field::content_type, "application/octet-stream");
  header.set("Docker-Content-Digest", r.digest->str());
  header.set(bhttp::field::accept_ranges, "bytes");
  if (auto length = res->content_length())
    header.set(bhttp::field::content_length, std::to_string(*length));
  co_await ex.send_header(std::move(header));
}

asio::awaitable<void> registry_proxy::serve_cached_blob(http::exchange& ex,
                                                        layers::blob_store::lease& blob) {
  const std::string digest = blob.digest().str();
  metrics_.blob_bytes_from_cache += co_await http::send_blob(ex, blob.fd(), blob.size(), digest);
}

std::shared_ptr<http::latency_histogram> registry_proxy::latency_of(route_kind kind, bool read) {
  if (!read) return nullptr;
  if (kind == route_kind::manifest) return metrics_.manifest_latency;
  if (kind == route_kind::blob) return metrics_.blob_latency;
  return nullptr;
}

std::optional<metrics::swarm_figures> registry_proxy::swarm_figures() const {
  if (!swarm_) return std::nullopt;
  metrics::swarm_figures out;
  const auto totals = swarm_->totals();
  out.uploaded = totals.uploaded;
  out.redundant = totals.redundant;
  out.end_game_held = swarm_->second_requests().held.load(std::memory_order_relaxed);
  out.end_game_spared = swarm_->second_requests().spared.load(std::memory_order_relaxed);
  out.hash_failures = swarm_->hash_failures();
  out.peers_banned = swarm_->peers_banned();
  out.torrents = swarm_->torrent_count();
  out.peers = swarm_->peer_connections();
  if (swarm_source_) {
    out.fallbacks_no_torrent = swarm_source_->fallbacks().no_torrent;
    out.fallbacks_filled = swarm_source_->fallbacks().filled;
    out.fallbacks_stalled = swarm_source_->fallbacks().stalled;
    out.metainfo_latency = &swarm_source_->metainfo_latency();
  }
  return out;
}

std::string registry_proxy::metrics_text() const {
  const metrics::bound_figures bounds{fetcher_.queued(), prefetcher_.queued(),
                                      prefetcher_.dropped(),
                                      blobs_.quarantined_count() + manifests_.quarantined_count()};
  return metrics_.prometheus(fetcher_.counters(), source_.bytes(), blobs_.total_bytes(),
                             blobs_.blob_count(), fetcher_.inflight(), swarm_figures(), bounds);
}

std::string registry_proxy::status_json(bool detailed) const {
  nlohmann::json out = {
      {"store", {{"bytes", blobs_.total_bytes()}, {"blobs", blobs_.blob_count()}}},
      {"fetches_in_flight", fetcher_.inflight()},
      {"prewarms_running", prewarm_.running()},
      {"bytes",
       {{"served_from_cache", metrics_.blob_bytes_from_cache},
        {"streamed_while_fetching", fetcher_.counters().bytes_streamed},
        {"from_peers", source_.bytes().peers},
        {"from_upstream", source_.bytes().upstream}}}};
  if (swarm_) {
    const auto totals = swarm_->totals();
    out["swarm"] = {{"torrent_count", swarm_->torrent_count()},
                    {"downloaded", totals.downloaded},
                    {"uploaded", totals.uploaded},
                    {"bt_port", swarm_->listen_port()},
                    {"hash_failures", swarm_->hash_failures()},
                    {"peers", swarm_->peer_connections()}};
    if (swarm_source_) {
      out["swarm"]["seeder"] = swarm_source_->seeder().str();
      out["swarm"]["fallbacks"] =
          swarm_source_->fallbacks().no_torrent + swarm_source_->fallbacks().stalled;
    }
  }
  // Digests say what this host pulled: the operator's to see, not any local process's.
  if (!detailed) return out.dump();
  nlohmann::json fetches = nlohmann::json::array();
  for (const auto& [digest, f] : fetcher_.all()) {
    fetches.push_back({{"digest", digest.str()},
                       {"bytes", f->written},
                       {"size", f->size ? nlohmann::json(*f->size) : nlohmann::json(nullptr)}});
  }
  out["fetches"] = std::move(fetches);
  nlohmann::json upstreams = nlohmann::json::array();
  for (const auto& up : upstreams_)
    upstreams.push_back({{"name", up->display_name()}, {"url", up->config().base.str()}});
  out["upstreams"] = std::move(upstreams);
  if (swarm_) {
    nlohmann::json torrents = nlohmann::json::array();
    for (const auto& [d, t] : swarm_->all()) {
      const auto st = swarm_->stats(d);
      torrents.push_back({{"digest", d.str()},
                          {"size", t->size()},
                          {"complete", t->complete()},
                          {"available", t->contiguous()},
                          {"downloaded", st.downloaded},
                          {"uploaded", st.uploaded},
                          {"peers", st.peers}});
    }
    out["swarm"]["torrents"] = std::move(torrents);
  }
  return out.dump();
}

}  // namespace rookery::proxy
