// Repository names, tags and "repository[:tag]" / "repository@digest" image references.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "layers/digest.hpp"
#include "layers/reference.hpp"
#include "tests/fuzz/check.hpp"

namespace layers = rookery::layers;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (layers::valid_repository_name(text)) FUZZ_CHECK(!text.empty() && text.size() <= 255);
  if (layers::valid_tag(text)) FUZZ_CHECK(!text.empty() && text.size() <= 128);
  if (auto ref = layers::parse_image_reference(text)) {
    FUZZ_CHECK(layers::valid_repository_name(ref->repository));
    const bool by_digest = layers::digest::parse(ref->reference).has_value();
    FUZZ_CHECK(by_digest || layers::valid_tag(ref->reference));
    // The parts are the text again, or the text with the default tag.
    const bool whole = ref->repository + (by_digest ? "@" : ":") + ref->reference == text;
    FUZZ_CHECK(whole || (ref->repository == text && ref->reference == "latest"));
  }
  return 0;
}
