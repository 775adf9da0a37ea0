// Digests as they arrive in request paths, manifests and notifications, and as blob files are
// named on disk.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "layers/digest.hpp"
#include "tests/fuzz/check.hpp"

using rookery::layers::digest;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  if (auto d = digest::parse(text, &why)) {
    // A valid digest prints back as given, and its hex names the same digest as a file.
    FUZZ_CHECK(d->str() == text);
    const auto again = digest::from_file_name(d->hex());
    FUZZ_CHECK(again && *again == *d);
  } else {
    FUZZ_CHECK(!why.empty());
  }
  if (auto f = digest::from_file_name(text)) FUZZ_CHECK(f->hex() == text);
  return 0;
}
