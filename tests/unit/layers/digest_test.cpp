#include "layers/digest.hpp"

#include <catch2/catch.hpp>

using rookery::layers::digest;
using rookery::layers::digest_algorithm;
using rookery::layers::digest_of;
using rookery::layers::hasher;

namespace {
const std::string empty_sha256 =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
}

TEST_CASE("digest parses a sha256 digest", "[digest]") {
  auto d = digest::parse(empty_sha256);
  REQUIRE(d);
  CHECK(d->algorithm() == digest_algorithm::sha256);
  CHECK(d->hex().size() == 64);
  CHECK(d->str() == empty_sha256);
}

TEST_CASE("digest accepts sha512", "[digest]") {
  auto d = digest::parse("sha512:" + std::string(128, 'a'));
  REQUIRE(d);
  CHECK(d->algorithm() == digest_algorithm::sha512);
}

TEST_CASE("digest rejects upper-case hex", "[digest]") {
  std::string why;
  CHECK_FALSE(digest::parse("sha256:" + std::string(64, 'A'), &why));
  CHECK(why.find("lowercase") != std::string::npos);
}

TEST_CASE("digest rejects a short encoding", "[digest]") {
  CHECK_FALSE(digest::parse("sha256:" + std::string(63, 'a')));
}

TEST_CASE("digest rejects a long encoding", "[digest]") {
  CHECK_FALSE(digest::parse("sha256:" + std::string(65, 'a')));
}

TEST_CASE("digest rejects unknown algorithms with a reason", "[digest]") {
  std::string why;
  CHECK_FALSE(digest::parse("md5:d41d8cd98f00b204e9800998ecf8427e", &why));
  CHECK(why.find("unsupported digest algorithm 'md5'") != std::string::npos);
}

TEST_CASE("digest rejects a missing separator or parts", "[digest]") {
  CHECK_FALSE(digest::parse("sha256"));
  CHECK_FALSE(digest::parse(":abc"));
  CHECK_FALSE(digest::parse("sha256:"));
  CHECK_FALSE(digest::parse(""));
}

TEST_CASE("digest rejects path traversal in the encoding", "[digest]") {
  CHECK_FALSE(digest::parse("sha256:../../../../etc/passwd"));
}

TEST_CASE("hasher computes the empty sha256", "[digest]") {
  CHECK(digest_of("").str() == empty_sha256);
}

TEST_CASE("hasher gives the same digest in pieces as at once", "[digest]") {
  hasher h;
  h.update("hello ");
  h.update("world");
  CHECK(h.finish() == digest_of("hello world"));
  CHECK(digest_of("hello world").str() ==
        "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
}

TEST_CASE("hasher computes sha512", "[digest]") {
  CHECK(digest_of("abc", digest_algorithm::sha512).hex().substr(0, 16) == "ddaf35a193617aba");
}
