// The one mapping from rookery's error codes to HTTP status and OCI error JSON.
#pragma once

#include <boost/beast/http/status.hpp>
#include <string>
#include <string_view>
#include <system_error>

namespace rookery::http {

/// The HTTP status a client gets for `ec`.
boost::beast::http::status status_for(std::error_code ec);
/// The OCI error code string ("BLOB_UNKNOWN", ...) for `ec`.
std::string_view oci_code_for(std::error_code ec);
/// `{"errors":[{"code":..,"message":..,"detail":..}]}`; `detail` is included when non-empty.
std::string oci_error_body(std::error_code ec, std::string_view detail = {});

}  // namespace rookery::http
