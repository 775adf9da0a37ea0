// Query strings: percent-encoding and -decoding, and parameter lookup.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rookery::http {

/// Encodes every byte but RFC 3986's unreserved characters as %XX (for query values).
std::string percent_encode(std::string_view text);

/// Decodes %XX escapes and '+'; nullopt for a malformed escape. Bytes may be binary.
std::optional<std::string> percent_decode(std::string_view text);

/// The raw (still encoded) value of `key` in a request target's query or a bare query
/// string; nullopt when absent.
std::optional<std::string_view> query_value(std::string_view target_or_query, std::string_view key);

}  // namespace rookery::http
