// The tag freshness policy of registry_proxy (--tag-stale-seconds): what a tag resolved to
// upstream is remembered, and answered from the cache only while upstream is unreachable.
#include <spdlog/spdlog.h>

#include "http/responses.hpp"
#include "layers/error.hpp"
#include "registry-proxy/detail/read_lease.hpp"
#include "registry-proxy/proxy.hpp"

namespace rookery::proxy {
using pull::access_cache;
using pull::access_verdict;
using pull::upstream;
namespace asio = boost::asio;

void registry_proxy::remember_tag(upstream& up, const route& r, const std::string& digest) {
  if (!tags_.enabled()) return;
  if (auto d = layers::digest::parse(digest))
    tags_.remember(tag_cache::key(up.display_name(), r.name, r.tag), *d, tag_cache::clock::now());
}

asio::awaitable<void> registry_proxy::answer_tag_unreachable(http::exchange& ex, upstream& up,
                                                             const route& r,
                                                             const std::string& authorization,
                                                             std::string detail) {
  const auto resolved = tags_.find(tag_cache::key(up.display_name(), r.name, r.tag));
  const auto now = tag_cache::clock::now();
  if (resolved && tags_.usable(*resolved, now) &&
      co_await serve_stale_tag(ex, up, r, authorization, *resolved))
    co_return;
  ++metrics_.stale_tag_refusals;
  const auto window = std::to_string(tags_.window().count());
  if (!resolved) {
    detail += "; tag '" + r.tag + "' was never resolved here (--tag-stale-seconds " + window + ")";
  } else {
    const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - resolved->at);
    detail += "; tag '" + r.tag + "' was last resolved " + std::to_string(age.count()) +
              " s ago, longer than --tag-stale-seconds " + window + " allows";
  }
  co_return co_await http::send_error(ex, errc::upstream_unavailable, std::move(detail));
}

asio::awaitable<bool> registry_proxy::serve_stale_tag(http::exchange& ex, upstream& up,
                                                      const route& r,
                                                      const std::string& authorization,
                                                      const tag_cache::resolution& resolved) {
  // Only clients upstream let read this manifest before (or anyone, when anonymous reads were
  // allowed): the same rule as cached content while upstream is down.
  const std::string digest = resolved.digest.str();
  const auto mine = access_cache::key(up.display_name(), r.name, digest, authorization);
  const auto anyone = access_cache::key(up.display_name(), r.name, digest, "");
  if (access_.check(mine) == access_verdict::unknown &&
      access_.check(anyone) == access_verdict::unknown)
    co_return false;
  auto lease = manifests_.open(resolved.digest);
  std::string body;
  if (!lease || !detail::read_lease(*lease, body) ||
      layers::digest_of(body, resolved.digest.algorithm()) != resolved.digest)
    co_return false;
  const auto parsed = layers::parse_manifest(body);
  if (!parsed) co_return false;
  const auto age =
      std::chrono::duration_cast<std::chrono::seconds>(tag_cache::clock::now() - resolved.at);
  ex.always_set("Rookery-Stale-Tag", std::to_string(age.count()));
  ++metrics_.stale_tag_answers;
  spdlog::info("upstream {} unreachable: tag {}:{} answered from the cache ({} s old)",
               up.display_name(), r.name, r.tag, age.count());
  co_await serve_manifest(ex, body, parsed->media_type, digest);
  co_return true;
}

}  // namespace rookery::proxy
