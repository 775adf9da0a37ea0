#include "registry-proxy/routes.hpp"

#include "http/query.hpp"
#include "layers/error.hpp"
#include "layers/reference.hpp"

namespace rookery::proxy {

route parse_route(std::string_view target, std::error_code& ec) {
  ec.clear();
  route out;
  const auto qmark = target.find('?');
  const std::string_view path = target.substr(0, qmark);
  if (qmark != std::string_view::npos) {
    // containerd sends ns=127.0.0.1%3A5000; a malformed one stays as sent and matches nothing.
    if (auto ns = http::query_value(target.substr(qmark + 1), "ns"))
      out.ns = http::percent_decode(*ns).value_or(std::string(*ns));
  }

  if (path == "/v2/" || path == "/v2") return out.kind = route_kind::base, out;
  if (path == "/metrics") return out.kind = route_kind::metrics, out;
  if (path == "/healthz") return out.kind = route_kind::healthz, out;
  if (path == "/v1/status") return out.kind = route_kind::status, out;
  if (path == "/v1/prewarm") return out.kind = route_kind::prewarm, out;
  if (path == "/v1/gc") return out.kind = route_kind::gc, out;
  if (path.starts_with("/v1/prewarm/")) {
    // Ids are 32 lowercase hex digits; anything else is no prewarm (404).
    const std::string_view id = path.substr(12);
    if (id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos) {
      out.kind = route_kind::prewarm_progress;
      out.name = std::string(id);
    }
    return out;
  }
  if (path.substr(0, 4) != "/v2/") return out;

  const std::string_view rest = path.substr(4);
  std::string_view name, reference;
  if (const auto m = rest.rfind("/manifests/"); m != std::string_view::npos) {
    out.kind = route_kind::manifest;
    name = rest.substr(0, m);
    reference = rest.substr(m + 11);
  } else if (const auto b = rest.rfind("/blobs/"); b != std::string_view::npos) {
    out.kind = route_kind::blob;
    name = rest.substr(0, b);
    reference = rest.substr(b + 7);
  } else {
    return out;  // uploads, tags/list, catalog: not offered (unknown → 404 / 405 by caller)
  }
  if (!layers::valid_repository_name(name)) {
    ec = errc::name_invalid;
    out.detail = "repository name does not match the OCI grammar";
    return out;
  }
  out.name = std::string(name);
  if (reference.find(':') != std::string_view::npos || out.kind == route_kind::blob) {
    std::string why;
    out.digest = layers::digest::parse(reference, &why);
    if (!out.digest) {
      // A blob is named by a digest only: a bad one is the client's error (400). A manifest
      // reference that is no digest and no tag names no manifest (404), as in distribution.
      ec = out.kind == route_kind::blob ? errc::digest_invalid : errc::manifest_unknown;
      out.detail = why;
    }
    return out;
  }
  if (!layers::valid_tag(reference)) {
    // No such tag can exist, so no such manifest does: 404, as distribution and the
    // conformance suite expect (".INVALID_MANIFEST_NAME").
    ec = errc::manifest_unknown;
    out.detail = "reference is neither a tag nor a digest";
    return out;
  }
  out.tag = std::string(reference);
  return out;
}

}  // namespace rookery::proxy
