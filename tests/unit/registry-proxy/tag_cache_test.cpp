#include "registry-proxy/tag_cache.hpp"

#include <catch2/catch.hpp>

using rookery::layers::digest_of;
using rookery::proxy::tag_cache;
using namespace std::chrono_literals;

TEST_CASE("tag_cache answers a tag within its window only", "[tag_cache]") {
  tag_cache tags(60s);
  const auto t0 = tag_cache::clock::now();
  tags.remember("k", digest_of("m"), t0);
  const auto found = tags.find("k");
  REQUIRE(found);
  CHECK(found->digest == digest_of("m"));
  CHECK(tags.usable(*found, t0 + 60s));
  CHECK_FALSE(tags.usable(*found, t0 + 61s));
}

TEST_CASE("tag_cache keeps the latest resolution of a tag", "[tag_cache]") {
  tag_cache tags(60s);
  const auto t0 = tag_cache::clock::now();
  tags.remember("k", digest_of("old"), t0);
  tags.remember("k", digest_of("new"), t0 + 5s);
  CHECK(tags.find("k")->digest == digest_of("new"));
  CHECK(tags.size() == 1);
}

TEST_CASE("tag_cache remembers nothing when the policy is off", "[tag_cache]") {
  tag_cache tags(0s);
  tags.remember("k", digest_of("m"), tag_cache::clock::now());
  CHECK_FALSE(tags.enabled());
  CHECK_FALSE(tags.find("k"));
}

TEST_CASE("tag_cache drops the oldest tag when full", "[tag_cache]") {
  tag_cache tags(60s, 2);
  const auto t0 = tag_cache::clock::now();
  tags.remember("a", digest_of("a"), t0);
  tags.remember("b", digest_of("b"), t0 + 1s);
  tags.remember("c", digest_of("c"), t0 + 2s);
  CHECK(tags.size() == 2);
  CHECK_FALSE(tags.find("a"));
  CHECK(tags.find("c"));
}

TEST_CASE("tag_cache keys separate upstreams, repositories and tags", "[tag_cache]") {
  CHECK(tag_cache::key("default", "a/b", "v1") != tag_cache::key("default", "a", "b/v1"));
  CHECK(tag_cache::key("x", "r", "t") != tag_cache::key("y", "r", "t"));
}
