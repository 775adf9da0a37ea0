// HTTP Range requests (RFC 9110 §14) for a single byte range, as registries serve them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace rookery::http {

/// An inclusive byte range [first, last] inside a representation.
struct byte_range {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t length() const noexcept { return last - first + 1; }
  friend bool operator==(const byte_range&, const byte_range&) = default;
};

enum class range_outcome {
  whole,          ///< no usable Range header: send everything with 200
  partial,        ///< send `range` with 206
  unsatisfiable,  ///< send 416 with `Content-Range: bytes */size`
};

struct range_result {
  range_outcome outcome = range_outcome::whole;
  byte_range range;
};

/// Resolves a Range header value against a representation of `size` bytes. `bytes=a-b`,
/// `bytes=a-` and `bytes=-n` are understood; an end past the size is clamped; a start at or
/// past the size, a reversed range or a malformed value is unsatisfiable. Multiple ranges are
/// answered with the whole representation (allowed by RFC 9110).
range_result resolve_range(std::string_view header, std::uint64_t size);

}  // namespace rookery::http
