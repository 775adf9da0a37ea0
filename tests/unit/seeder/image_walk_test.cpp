#include "seeder/image_walk.hpp"

#include <catch2/catch.hpp>
#include <utility>  // before Asio: Boost 1.74 needs std::exchange

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <map>

#include <nlohmann/json.hpp>

using namespace rookery;
using seeder::walk_image;
using seeder::walk_limits;
using seeder::walk_result;

namespace {

// Manifests held in memory by digest (and by tag), parsed as the registry's would be; counts
// the reads, so a test sees what the walk asked for.
class memory_manifests final : public seeder::manifest_reader {
 public:
  std::string add(const std::string& body, const std::string& tag = {}) {
    const std::string d = layers::digest_of(body).str();
    bodies_[d] = body;
    if (!tag.empty()) bodies_[tag] = body;
    return d;
  }
  boost::asio::awaitable<std::optional<layers::manifest>> read(const std::string& reference,
                                                               std::string& why) override {
    ++reads;
    auto it = bodies_.find(reference);
    if (it == bodies_.end()) {
      why = "not found";
      co_return std::nullopt;
    }
    co_return layers::parse_manifest(it->second, {}, &why);
  }
  int reads = 0;

 private:
  std::map<std::string, std::string> bodies_;
};

nlohmann::json descriptor(const std::string& media_type, const std::string& digest) {
  return {{"mediaType", media_type}, {"digest", digest}, {"size", 1}};
}

std::string blob_digest(const std::string& seed) {
  return layers::digest_of(seed).str();
}

// An image manifest with a config and `layers` layers named after `seed`.
std::string image(const std::string& seed, std::size_t layers = 1) {
  nlohmann::json m = {
      {"schemaVersion", 2},
      {"mediaType", layers::media_type::oci_manifest},
      {"config", descriptor("application/vnd.oci.image.config.v1+json", blob_digest(seed))}};
  m["layers"] = nlohmann::json::array();
  for (std::size_t i = 0; i < layers; ++i) {
    m["layers"].push_back(descriptor("application/vnd.oci.image.layer.v1.tar+gzip",
                                     blob_digest(seed + "/" + std::to_string(i))));
  }
  return m.dump();
}

// An index of the manifests with `digests` (images or indexes alike).
std::string index(const std::vector<std::string>& digests) {
  nlohmann::json m = {{"schemaVersion", 2}, {"mediaType", layers::media_type::oci_index}};
  m["manifests"] = nlohmann::json::array();
  for (const auto& d : digests)
    m["manifests"].push_back(descriptor(std::string(layers::media_type::oci_index), d));
  return m.dump();
}

// Indexes `levels` deep above one image; returns the outermost index's digest.
std::string nested(memory_manifests& store, std::size_t levels) {
  std::string d = store.add(image("deep"));
  for (std::size_t i = 0; i < levels; ++i) d = store.add(index({d}));
  return d;
}

walk_result walk(memory_manifests& store, const std::string& reference, walk_limits limits = {}) {
  boost::asio::io_context io;
  auto result =
      boost::asio::co_spawn(io, walk_image(store, reference, limits), boost::asio::use_future);
  io.run();
  return result.get();
}

}  // namespace

TEST_CASE("image_walk: an image manifest gives its config and layers", "[image_walk]") {
  memory_manifests store;
  store.add(image("app", 3), "v1");
  const auto result = walk(store, "v1");
  CHECK(result.error.empty());
  CHECK(result.blobs.size() == 4);
  CHECK(result.blobs[0].digest.str() == blob_digest("app"));
  CHECK(result.manifests_read == 1);
}

TEST_CASE("image_walk: an index gives every child's blobs, shared ones once", "[image_walk]") {
  memory_manifests store;
  const std::string amd64 = store.add(image("amd64", 2));
  const std::string arm64 = store.add(image("arm64", 2));
  const std::string top = store.add(index({amd64, arm64, amd64}));
  const auto result = walk(store, top);
  CHECK(result.error.empty());
  CHECK(result.blobs.size() == 6);
  CHECK(store.reads == 3);  // the repeated child is read once
}

TEST_CASE("image_walk: indexes nested up to the limit are followed", "[image_walk]") {
  memory_manifests store;
  const std::string top = nested(store, 4);
  const auto result = walk(store, top, walk_limits{4, 1024, 256});
  CHECK(result.error.empty());
  CHECK(result.blobs.size() == 2);
}

TEST_CASE("image_walk: an index nested past the limit stops the walk there", "[image_walk]") {
  memory_manifests store;
  const std::string top = nested(store, 5);
  const auto result = walk(store, top, walk_limits{4, 1024, 256});
  CHECK(result.blobs.empty());
  CHECK_THAT(result.error, Catch::Contains("nested more than 4 indexes deep"));
  CHECK(store.reads == 5);  // the fifth index is read, its child never
}

TEST_CASE("image_walk: a manifest with too many descriptors is refused", "[image_walk]") {
  memory_manifests store;
  store.add(image("huge", 20), "big");
  const auto result = walk(store, "big", walk_limits{4, 10, 256});
  CHECK(result.blobs.empty());
  CHECK_THAT(result.error, Catch::Contains("lists 21 descriptors, more than 10"));
}

TEST_CASE("image_walk: an index with too many children is refused unread", "[image_walk]") {
  memory_manifests store;
  std::vector<std::string> children;
  for (int i = 0; i < 11; ++i) children.push_back(store.add(image("p" + std::to_string(i))));
  const std::string top = store.add(index(children));
  const auto result = walk(store, top, walk_limits{4, 10, 256});
  CHECK(result.blobs.empty());
  CHECK(store.reads == 1);
  CHECK_THAT(result.error, Catch::Contains("lists 11 descriptors"));
}

TEST_CASE("image_walk: the manifests one walk reads are capped", "[image_walk]") {
  memory_manifests store;
  std::vector<std::string> children;
  for (int i = 0; i < 6; ++i) children.push_back(store.add(image("p" + std::to_string(i))));
  const std::string top = store.add(index(children));
  const auto result = walk(store, top, walk_limits{4, 1024, 4});
  CHECK(store.reads == 4);  // the index and three children
  CHECK(result.blobs.size() == 6);
  CHECK_THAT(result.error, Catch::Contains("more than 4 manifests"));
}

TEST_CASE("image_walk: a child that cannot be read is reported, the rest kept", "[image_walk]") {
  memory_manifests store;
  const std::string good = store.add(image("good"));
  const std::string missing = layers::digest_of("no such manifest").str();
  const std::string top = store.add(index({missing, good}));
  const auto result = walk(store, top);
  CHECK(result.blobs.size() == 2);
  CHECK_THAT(result.error, Catch::Contains(missing + ": not found"));
}

TEST_CASE("image_walk: an unknown reference is an error with no blobs", "[image_walk]") {
  memory_manifests store;
  const auto result = walk(store, "nope");
  CHECK(result.blobs.empty());
  CHECK(result.error == "nope: not found");
}
