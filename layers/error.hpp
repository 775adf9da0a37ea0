// rookery's one error category. Every I/O path reports failures as std::error_code values
// from this enum; http/oci_error.hpp maps each to its HTTP status and OCI error code once.
#pragma once

#include <string>
#include <system_error>

namespace rookery {

/// What went wrong, in the terms of the OCI distribution spec where one fits.
enum class errc {
  ok = 0,
  blob_unknown = 1,       ///< the blob is not cached and upstream has none
  digest_invalid,         ///< a digest that breaks the grammar, or content that does not match it
  manifest_unknown,       ///< no manifest under that reference
  manifest_invalid,       ///< malformed or oversized manifest
  name_invalid,           ///< repository name breaks the grammar
  name_unknown,           ///< namespace not served by this mirror
  size_invalid,           ///< content longer or shorter than announced
  range_invalid,          ///< Range header that cannot be satisfied
  unauthorized,           ///< upstream wants credentials
  denied,                 ///< upstream refused the credentials
  unsupported,            ///< method or endpoint this pull-only mirror does not offer
  too_many_requests,      ///< upstream throttles us
  upstream_unavailable,   ///< upstream could not be reached or timed out
  upstream_bad_response,  ///< upstream answered with something we cannot use
  store_failure,          ///< local disk trouble (full, permissions)
  not_found,              ///< a non-OCI endpoint that does not exist
  too_large,              ///< a request body over the endpoint's limit
  endpoint_unsupported,   ///< an OCI API endpoint this pull-only mirror does not offer
};

const std::error_category& rookery_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), rookery_category()};
}

}  // namespace rookery

template <>
struct std::is_error_code_enum<rookery::errc> : std::true_type {};
