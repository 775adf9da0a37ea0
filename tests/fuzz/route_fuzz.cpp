// Request targets of the proxy's pull API, split and validated before anything else runs.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

#include "layers/reference.hpp"
#include "registry-proxy/routes.hpp"
#include "tests/fuzz/check.hpp"

using namespace rookery;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  std::error_code ec;
  const proxy::route r = proxy::parse_route(target, ec);
  if (ec) {
    FUZZ_CHECK(!r.detail.empty());
    return 0;
  }
  if (r.kind == proxy::route_kind::manifest) {
    FUZZ_CHECK(layers::valid_repository_name(r.name));
    FUZZ_CHECK(r.digest.has_value() != layers::valid_tag(r.tag));
  } else if (r.kind == proxy::route_kind::blob) {
    FUZZ_CHECK(layers::valid_repository_name(r.name) && r.digest && r.tag.empty());
  }
  return 0;
}
