// Range header values against blobs of several sizes: fixed edge sizes, and sizes next to the
// numbers the header itself names (where the off-by-ones live).
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "http/range.hpp"
#include "tests/fuzz/check.hpp"

using namespace rookery::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view header(reinterpret_cast<const char*>(data), size);
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  std::vector<std::uint64_t> sizes{0, 1, 2, 1024, size, max - 1, max};
  for (std::size_t i = 0; i < header.size() && sizes.size() < 32;) {
    if (header[i] < '0' || header[i] > '9') {
      ++i;
      continue;
    }
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(header.data() + i, header.data() + header.size(), n);
    i = static_cast<std::size_t>(end - header.data());
    if (ec != std::errc{}) continue;
    sizes.insert(sizes.end(), {n - 1, n, n + 1});  // unsigned: wraps to max and to 0
  }
  for (const std::uint64_t blob : sizes) {
    const range_result r = resolve_range(header, blob);
    if (r.outcome == range_outcome::partial) {
      FUZZ_CHECK(blob > 0 && r.range.first <= r.range.last && r.range.last < blob);
      FUZZ_CHECK(r.range.length() >= 1 && r.range.length() <= blob);
    }
  }
  return 0;
}
