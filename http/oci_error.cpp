#include "http/oci_error.hpp"

#include <nlohmann/json.hpp>

#include "layers/error.hpp"

namespace rookery::http {
namespace {

struct mapping {
  boost::beast::http::status status;
  std::string_view code;
};

mapping map(std::error_code ec) {
  using s = boost::beast::http::status;
  if (ec.category() != rookery_category()) return {s::internal_server_error, "UNKNOWN"};
  switch (static_cast<errc>(ec.value())) {
    case errc::ok:
      return {s::ok, ""};
    case errc::blob_unknown:
      return {s::not_found, "BLOB_UNKNOWN"};
    case errc::digest_invalid:
      return {s::bad_request, "DIGEST_INVALID"};
    case errc::manifest_unknown:
      return {s::not_found, "MANIFEST_UNKNOWN"};
    case errc::manifest_invalid:
      return {s::bad_request, "MANIFEST_INVALID"};
    case errc::name_invalid:
      return {s::bad_request, "NAME_INVALID"};
    case errc::name_unknown:
      return {s::not_found, "NAME_UNKNOWN"};
    case errc::size_invalid:
      return {s::bad_request, "SIZE_INVALID"};
    case errc::range_invalid:
      // The spec's table has no code of its own for a Range: UNSUPPORTED is "an invalid set
      // of parameters"; clients act on the 416.
      return {s::range_not_satisfiable, "UNSUPPORTED"};
    case errc::unauthorized:
      return {s::unauthorized, "UNAUTHORIZED"};
    case errc::denied:
      return {s::forbidden, "DENIED"};
    case errc::unsupported:
      return {s::method_not_allowed, "UNSUPPORTED"};
    case errc::too_many_requests:
      return {s::too_many_requests, "TOOMANYREQUESTS"};
    case errc::upstream_unavailable:
      return {s::service_unavailable, "UNAVAILABLE"};
    case errc::upstream_bad_response:
      return {s::bad_gateway, "UNAVAILABLE"};
    case errc::store_failure:
      return {s::internal_server_error, "UNKNOWN"};
    case errc::not_found:
      return {s::not_found, "NOT_FOUND"};
    case errc::too_large:
      return {s::payload_too_large, "SIZE_INVALID"};
    case errc::endpoint_unsupported:
      // 404, as the spec asks of a registry without the referrers API (clients fall back).
      return {s::not_found, "UNSUPPORTED"};
  }
  return {s::internal_server_error, "UNKNOWN"};
}

}  // namespace

boost::beast::http::status status_for(std::error_code ec) {
  return map(ec).status;
}

std::string_view oci_code_for(std::error_code ec) {
  return map(ec).code;
}

std::string oci_error_body(std::error_code ec, std::string_view detail) {
  nlohmann::json error = {{"code", oci_code_for(ec)}, {"message", ec.message()}};
  if (!detail.empty()) error["detail"] = detail;
  return nlohmann::json{{"errors", nlohmann::json::array({error})}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace rookery::http
