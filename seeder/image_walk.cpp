#include "seeder/image_walk.hpp"

#include <unordered_set>

namespace rookery::seeder {
namespace {

// One walk's state: the limits, what it found, and what it has seen (a manifest or blob listed
// twice is read or kept once).
struct walk_state {
  manifest_reader& reader;
  walk_limits limits;
  walk_result result;
  std::unordered_set<std::string> manifests_seen;
  std::unordered_set<layers::digest> blobs_seen;

  // Keeps the first failure: it names what went wrong first, usually the cause of the rest.
  void fail(std::string why) {
    if (result.error.empty()) result.error = std::move(why);
  }
};

std::size_t descriptor_count(const layers::manifest& m) {
  return m.kind == layers::manifest_kind::index ? m.manifests.size()
                                                : m.layers.size() + (m.config ? 1 : 0);
}

void keep_blobs(walk_state& state, const layers::manifest& image) {
  for (auto& blob : image.blobs()) {
    if (state.blobs_seen.insert(blob.digest).second) state.result.blobs.push_back(blob);
  }
}

boost::asio::awaitable<void> visit(walk_state& state, const std::string& reference,
                                   std::size_t depth) {
  if (!state.manifests_seen.insert(reference).second) co_return;
  if (state.result.manifests_read >= state.limits.max_manifests) {
    state.fail("image has more than " + std::to_string(state.limits.max_manifests) +
               " manifests; " + reference + " and the rest left out");
    co_return;
  }
  ++state.result.manifests_read;
  std::string why;
  const std::optional<layers::manifest> m = co_await state.reader.read(reference, why);
  if (!m) {
    state.fail(reference + ": " + why);
    co_return;
  }
  if (const std::size_t n = descriptor_count(*m); n > state.limits.max_descriptors) {
    state.fail(reference + " lists " + std::to_string(n) + " descriptors, more than " +
               std::to_string(state.limits.max_descriptors));
    co_return;
  }
  if (m->kind == layers::manifest_kind::image) {
    keep_blobs(state, *m);
    co_return;
  }
  if (depth + 1 > state.limits.max_depth) {
    state.fail("index " + reference + " is nested more than " +
               std::to_string(state.limits.max_depth) + " indexes deep");
    co_return;
  }
  for (const auto& child : m->manifests) {
    const std::string child_reference = child.digest.str();
    co_await visit(state, child_reference, depth + 1);
  }
}

}  // namespace

boost::asio::awaitable<walk_result> walk_image(manifest_reader& reader, std::string reference,
                                               walk_limits limits) {
  walk_state state{reader, limits, {}, {}, {}};
  co_await visit(state, reference, 0);
  co_return std::move(state.result);
}

}  // namespace rookery::seeder
