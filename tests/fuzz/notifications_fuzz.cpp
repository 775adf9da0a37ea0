// The registry's notification envelopes as POSTed to the seeder, and the queue they feed.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "layers/digest.hpp"
#include "layers/reference.hpp"
#include "seeder/notifications.hpp"
#include "tests/fuzz/check.hpp"

using namespace rookery;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto pushed = seeder::parse_notifications(body);
  if (!pushed) return 0;
  seeder::image_queue queue(2, 4);
  for (const auto& image : *pushed) {
    FUZZ_CHECK(layers::valid_repository_name(image.repository));
    FUZZ_CHECK(layers::digest::parse(image.reference).has_value());
    queue.push(image);
    if (queue.waiting() == 4) {
      while (auto next = queue.start_next()) queue.finished(*next);
    }
    FUZZ_CHECK(queue.running() <= 2 && queue.waiting() <= 4);
  }
  return 0;
}
