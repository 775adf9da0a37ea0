#include "layers/reference.hpp"

#include <catch2/catch.hpp>

using rookery::layers::parse_image_reference;

TEST_CASE("image reference: a tag, no tag, a digest", "[reference]") {
  auto tagged = parse_image_reference("team/app:v1");
  REQUIRE(tagged);
  CHECK(tagged->repository == "team/app");
  CHECK(tagged->reference == "v1");
  auto bare = parse_image_reference("team/app");
  REQUIRE(bare);
  CHECK(bare->reference == "latest");
  const std::string d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  auto pinned = parse_image_reference("team/app@" + d);
  REQUIRE(pinned);
  CHECK(pinned->repository == "team/app");
  CHECK(pinned->reference == d);
}

TEST_CASE("image reference: a colon before a slash is not a tag", "[reference]") {
  // "host:5000/app" names no tag; host ports are not part of a repository name either.
  CHECK_FALSE(parse_image_reference("host:5000/app"));
}

TEST_CASE("image reference: bad parts are refused", "[reference]") {
  CHECK_FALSE(parse_image_reference(""));
  CHECK_FALSE(parse_image_reference("Team/App:v1"));
  CHECK_FALSE(parse_image_reference("team/app:"));
  CHECK_FALSE(parse_image_reference("team/app:-bad"));
  CHECK_FALSE(parse_image_reference("team/app@sha256:short"));
}
