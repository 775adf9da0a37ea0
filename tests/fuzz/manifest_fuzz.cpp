// Manifests and indexes from an upstream registry, under each Content-Type it may claim.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "layers/manifest.hpp"
#include "tests/fuzz/check.hpp"

namespace layers = rookery::layers;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  namespace mt = layers::media_type;
  // No Content-Type (or any other, such as application/json: the same path), then each of the
  // four a registry may answer with.
  for (const std::string_view type : {std::string_view{}, mt::oci_manifest, mt::oci_index,
                                      mt::docker_manifest, mt::docker_manifest_list}) {
    std::string why;
    const auto m = layers::parse_manifest(bytes, type, &why);
    if (!m) {
      FUZZ_CHECK(!why.empty());
      continue;
    }
    FUZZ_CHECK(layers::is_manifest_media_type(m->media_type));
    const auto blobs = m->blobs();
    if (m->kind == layers::manifest_kind::image) {
      FUZZ_CHECK(m->config && m->manifests.empty() && blobs.size() == m->layers.size() + 1);
    } else {
      FUZZ_CHECK(!m->config && m->layers.empty() && blobs.empty());
      if (const auto* entry = layers::select_platform(*m, layers::host_platform()))
        FUZZ_CHECK(entry->platform.has_value());
      layers::select_platform(*m, {"linux", "arm", "v7"});
    }
  }
  return 0;
}
