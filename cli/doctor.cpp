#include "cli/doctor.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <iostream>

#include "cli/api_client.hpp"
#include "cli/progress.hpp"
#include "layers/manifest.hpp"
#include "layers/reference.hpp"

namespace rookery::cli {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using nlohmann::json;
namespace {

// A count in a /v1/status answer: {"bytes", "from_peers"}; 0 when absent.
std::uint64_t count_at(const json& doc, std::initializer_list<const char*> path) {
  const json* node = &doc;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return 0;
    node = &(*node)[key];
  }
  return node->is_number_unsigned() ? node->get<std::uint64_t>() : 0;
}

std::uint64_t from_peers(const json& s) {
  return count_at(s, {"bytes", "from_peers"});
}
std::uint64_t from_upstream(const json& s) {
  return count_at(s, {"bytes", "from_upstream"});
}

}  // namespace

std::vector<check_result> runtime_checks(const doctor_options& opts) {
  std::vector<check_result> out;
  for (const auto& runtime : opts.runtimes) {
    if (runtime == "containerd") {
      auto checks = check_containerd(opts.proxy, opts.registries, opts.containerd);
      out.insert(out.end(), checks.begin(), checks.end());
    } else if (runtime == "docker") {
      out.push_back(check_docker(opts.proxy, opts.docker_config));
    } else if (runtime == "podman") {
      out.push_back(check_podman(opts.proxy, opts.registries, opts.podman_config));
    }
  }
  return out;
}

check_result p2p_check(const json& status) {
  const std::string name = "p2p since start";
  if (!status.contains("swarm"))
    return check_result{name, check_status::warn,
                        "the proxy has no swarm: every blob comes from upstream",
                        "start rookery-proxy with --seeder URL --bt-listen ADDR:PORT"};
  const auto peers = from_peers(status), upstream = from_upstream(status);
  const std::string detail =
      human_bytes(peers) + " from peers, " + human_bytes(upstream) + " from upstream, " +
      std::to_string(count_at(status, {"swarm", "fallbacks"})) + " fallbacks, " +
      std::to_string(count_at(status, {"swarm", "peers"})) + " peer connections now";
  if (peers > 0) return check_result{name, check_status::ok, detail};
  if (upstream == 0)
    return check_result{name, check_status::warn, "nothing fetched yet (" + detail + ")",
                        "pull an image, or run doctor with --probe IMAGE"};
  return check_result{
      name, check_status::warn, "no P2P hits: " + detail,
      "is the image seeded (`rookery seed`)? can hosts reach each other's BitTorrent "
      "port and the seeder's?"};
}

check_result probe_check(const probe_pull& pull, const json& before, const json& after) {
  const std::string name = "probe " + pull.image;
  // What the proxy fetched meanwhile: the probe's blobs (and whatever else it was asked for).
  const auto peers = from_peers(after) - std::min(from_peers(after), from_peers(before));
  const auto upstream =
      from_upstream(after) - std::min(from_upstream(after), from_upstream(before));
  const std::string detail = std::to_string(pull.blobs) + " blobs, " + human_bytes(pull.bytes) +
                             "; the proxy fetched " + human_bytes(peers) + " from peers and " +
                             human_bytes(upstream) + " from upstream";
  if (peers > 0) return check_result{name, check_status::ok, detail};
  if (upstream == 0)
    return check_result{name, check_status::warn,
                        "already cached here, so it proves nothing: " + detail,
                        "probe an image this host has not pulled yet"};
  return check_result{
      name, check_status::warn, "no P2P hits: " + detail,
      "is the image seeded (`rookery seed`)? is the proxy's upstream the registry the "
      "seeder fronts (--seeder NAME=URL)?"};
}

std::string format_report(const std::vector<check_result>& checks) {
  std::string out;
  for (const auto& c : checks) {
    std::string status(to_string(c.status));
    status.resize(6, ' ');
    out += status + c.name + ": " + c.detail + "\n";
    if (!c.hint.empty()) out += "      hint: " + c.hint + "\n";
  }
  return out;
}

json report_json(const std::vector<check_result>& checks) {
  json list = json::array();
  for (const auto& c : checks)
    list.push_back({{"check", c.name},
                    {"status", to_string(c.status)},
                    {"detail", c.detail},
                    {"hint", c.hint}});
  return {{"ok", doctor_exit_status(checks) == 0}, {"checks", std::move(list)}};
}

int doctor_exit_status(const std::vector<check_result>& checks) {
  for (const auto& c : checks)
    if (c.status == check_status::fail) return 1;
  return 0;
}

namespace {

// One doctor run's network side: the proxy and seeder APIs, and plain GETs for the probe.
struct doctor_run {
  doctor_run(asio::io_context& io, const doctor_options& o)
      : opts(o), client(io, client_options()), tls(http::make_client_tls_context()) {}
  static http::client_options client_options() {
    http::client_options c;
    c.connect_timeout = std::chrono::seconds(3);
    c.response_timeout = std::chrono::seconds(60);  // a cold blob may be fetched first
    c.idle_timeout = std::chrono::seconds(60);
    return c;
  }
  const doctor_options& opts;
  api_client client;
  asio::ssl::context tls;
};

// GETs `target` from the proxy: the open response, or null with a reason in `why`.
asio::awaitable<std::unique_ptr<http::response_stream>> proxy_get(doctor_run& run,
                                                                  const std::string& target,
                                                                  std::string_view accept,
                                                                  std::string& why) {
  http::url where = run.opts.proxy.base;
  where.target = target;
  bhttp::fields headers;
  headers.set(bhttp::field::accept, accept);
  if (!run.opts.authorization.empty())
    headers.set(bhttp::field::authorization, run.opts.authorization);
  std::error_code ec;
  auto ex = co_await asio::this_coro::executor;
  const auto copts = doctor_run::client_options();
  auto res = co_await http::send_request(ex, run.tls, bhttp::verb::get, where, headers, copts, ec);
  if (!res) {
    why = "no answer from " + run.opts.proxy.name + " (" + ec.message() + ")";
  } else if (res->status() != 200) {
    std::string body;
    co_await res->read_body(body, 64 * 1024);
    why = describe_failure(res->status(), body);
    res.reset();
  }
  co_return res;
}

std::string with_ns(std::string target, const std::string& ns) {
  return ns.empty() ? target : target + "?ns=" + ns;
}

// The manifest `reference` names, through the proxy; an index resolves to this host's platform.
asio::awaitable<std::optional<layers::manifest>> probe_manifest(doctor_run& run,
                                                                const layers::image_reference& ref,
                                                                std::string& why) {
  std::string reference = ref.reference;
  for (int depth = 0; depth < 2; ++depth) {  // an index, then its child
    const std::string target =
        with_ns("/v2/" + ref.repository + "/manifests/" + reference, run.opts.ns);
    auto res = co_await proxy_get(run, target, layers::media_type::accept_all, why);
    if (!res) co_return std::nullopt;
    std::string body;
    if (co_await res->read_body(body, layers::max_manifest_bytes)) {
      why = "manifest incomplete or over 4 MiB";
      co_return std::nullopt;
    }
    auto parsed = layers::parse_manifest(body, res->header(bhttp::field::content_type), &why);
    if (!parsed || parsed->kind == layers::manifest_kind::image) co_return parsed;
    const auto* child = layers::select_platform(*parsed, layers::host_platform());
    if (!child) {
      why = "the index has no manifest for " + layers::to_string(layers::host_platform());
      co_return std::nullopt;
    }
    reference = child->digest.str();
  }
  why = "an index inside an index";
  co_return std::nullopt;
}

// GETs one blob through the proxy, hashing what arrives; empty when it arrived whole and right.
asio::awaitable<std::string> drain_blob(doctor_run& run, const std::string& repository,
                                        const layers::descriptor& blob, std::uint64_t& bytes) {
  std::string why;
  const std::string target =
      with_ns("/v2/" + repository + "/blobs/" + blob.digest.str(), run.opts.ns);
  auto res = co_await proxy_get(run, target, "*/*", why);
  if (!res) co_return blob.digest.str() + ": " + why;
  layers::hasher hash(blob.digest.algorithm());
  std::uint64_t got = 0;
  std::vector<char> chunk(256 * 1024);
  std::error_code ec;
  while (!res->done() && got <= blob.size) {  // bounded by the size the manifest gives
    const std::size_t n = co_await res->read_some(chunk.data(), chunk.size(), ec);
    if (ec) co_return blob.digest.str() + ": the stream broke off (" + ec.message() + ")";
    hash.update(chunk.data(), n);
    got += n;
  }
  bytes += got;
  if (got != blob.size || hash.finish() != blob.digest)
    co_return blob.digest.str() + ": " + std::to_string(got) + " bytes that do not match it";
  co_return std::string();
}

asio::awaitable<json> proxy_status(doctor_run& run, std::string& why) {
  const std::string target = "/v1/status", no_body, no_auth;
  const reply r =
      co_await run.client.call(run.opts.proxy, bhttp::verb::get, target, no_body, no_auth);
  if (!r.ok()) why = r.error.empty() ? describe_failure(r.status, r.body) : r.error;
  auto doc = json::parse(r.body, nullptr, false);
  if (why.empty() && !doc.is_object()) why = "/v1/status is not a JSON object";
  co_return doc;
}

asio::awaitable<check_result> probe(doctor_run& run, const json& before) {
  probe_pull pull{run.opts.probe, 0, 0};
  const std::string name = "probe " + pull.image;
  const auto ref = layers::parse_image_reference(pull.image);
  if (!ref) co_return check_result{name, check_status::fail, "not an image reference"};
  std::string why;
  const auto manifest = co_await probe_manifest(run, *ref, why);
  if (!manifest) co_return check_result{name, check_status::fail, "manifest: " + why};
  for (const auto& blob : manifest->blobs()) {
    why = co_await drain_blob(run, ref->repository, blob, pull.bytes);
    if (!why.empty()) co_return check_result{name, check_status::fail, "blob " + why};
    ++pull.blobs;
  }
  const json after = co_await proxy_status(run, why);
  if (!why.empty())
    co_return check_result{name, check_status::fail, "status after the pull: " + why};
  co_return probe_check(pull, before, after);
}

asio::awaitable<check_result> seeder_check(doctor_run& run, const json& status) {
  const std::string name = "seeder";
  std::optional<host> seeder = run.opts.seeder;
  if (!seeder && status.contains("swarm") && status["swarm"].contains("seeder") &&
      status["swarm"]["seeder"].is_string())
    seeder = parse_host(status["swarm"]["seeder"].get<std::string>());
  if (!seeder)
    co_return check_result{name, check_status::warn, "the proxy names no seeder (no swarm)",
                           "give --seeder URL to check one anyway"};
  const std::string target = "/healthz", no_body, no_auth;
  const reply r = co_await run.client.call(*seeder, bhttp::verb::get, target, no_body, no_auth);
  if (r.ok()) co_return check_result{name, check_status::ok, "answers /healthz at " + seeder->name};
  // A transport error names the host already.
  const std::string why =
      r.error.empty() ? seeder->name + ": " + describe_failure(r.status, r.body) : r.error;
  co_return check_result{name, check_status::fail, why,
                         "without its seeder the proxy takes every blob from upstream"};
}

asio::awaitable<void> network_checks(doctor_run& run, std::vector<check_result>& out) {
  const auto& proxy = run.opts.proxy;
  const std::string target = "/healthz", no_body, no_auth;
  const reply health = co_await run.client.call(proxy, bhttp::verb::get, target, no_body, no_auth);
  if (!health.ok()) {
    out.push_back(check_result{
        "proxy", check_status::fail,
        health.error.empty() ? describe_failure(health.status, health.body) : health.error,
        "is rookery-proxy running and listening there?"});
    co_return;
  }
  out.push_back(check_result{"proxy", check_status::ok, "answers /healthz at " + proxy.name});
  std::string why;
  const json status = co_await proxy_status(run, why);
  if (!why.empty()) {
    out.push_back(check_result{"proxy status", check_status::fail, why});
    co_return;
  }
  check_result seeder = co_await seeder_check(run, status);
  out.push_back(std::move(seeder));
  out.push_back(p2p_check(status));
  if (run.opts.probe.empty()) co_return;
  check_result probed = co_await probe(run, status);
  out.push_back(std::move(probed));
}

}  // namespace

int run_doctor(const doctor_options& opts) {
  std::vector<check_result> checks = runtime_checks(opts);
  asio::io_context io;
  doctor_run run(io, opts);
  bool finished = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await network_checks(run, checks);
        finished = true;
      },
      asio::detached);
  io.run_for(opts.timeout);
  if (!finished)
    checks.push_back(check_result{"doctor", check_status::fail,
                                  "gave up after " + std::to_string(opts.timeout.count()) + " s",
                                  "--timeout SECONDS"});
  if (opts.json) {
    std::cout << report_json(checks).dump() << "\n";
  } else {
    std::cout << format_report(checks);
  }
  return doctor_exit_status(checks);
}

}  // namespace rookery::cli
