#include "pull/access_cache.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using rookery::pull::access_cache;
using rookery::pull::access_verdict;

namespace {

const std::string digest_a =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string digest_b =
    "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";

std::string key(const std::string& authorization, const std::string& repository = "library/a",
                const std::string& digest = digest_a, const std::string& upstream = "default") {
  return access_cache::key(upstream, repository, digest, authorization);
}

}  // namespace

// ---- verdicts ---------------------------------------------------------------

TEST_CASE("access_cache: a key never allowed is unknown", "[access_cache]") {
  access_cache cache(60s);
  CHECK(cache.check(key("")) == access_verdict::unknown);
}

TEST_CASE("access_cache: an allowed key is fresh within the window", "[access_cache]") {
  access_cache cache(3600s);
  cache.allow(key("Bearer t"));
  CHECK(cache.check(key("Bearer t")) == access_verdict::fresh);
}

TEST_CASE("access_cache: with a zero window an allowed key is stale at once", "[access_cache]") {
  access_cache cache(0s);
  cache.allow(key("Bearer t"));
  CHECK(cache.check(key("Bearer t")) == access_verdict::stale);
}

TEST_CASE("access_cache: re-allowing refreshes a key", "[access_cache]") {
  access_cache cache(3600s);
  cache.allow(key("Bearer t"));
  cache.allow(key("Bearer t"));
  CHECK(cache.check(key("Bearer t")) == access_verdict::fresh);
}

TEST_CASE("access_cache: forget makes a key unknown", "[access_cache]") {
  access_cache cache(3600s);
  cache.allow(key("Bearer t"));
  cache.forget(key("Bearer t"));
  CHECK(cache.check(key("Bearer t")) == access_verdict::unknown);
}

TEST_CASE("access_cache: forget of an unknown key is harmless", "[access_cache]") {
  access_cache cache(3600s);
  cache.allow(key("Bearer t"));
  cache.forget(key("Bearer other"));
  CHECK(cache.check(key("Bearer t")) == access_verdict::fresh);
}

TEST_CASE("access_cache: allowing one credential does not allow another", "[access_cache]") {
  access_cache cache(3600s);
  cache.allow(key("Bearer alice"));
  CHECK(cache.check(key("Bearer bob")) == access_verdict::unknown);
}

TEST_CASE("access_cache: allowing a credential does not allow anonymous", "[access_cache]") {
  access_cache cache(3600s);
  cache.allow(key("Bearer alice"));
  CHECK(cache.check(key("")) == access_verdict::unknown);
}

TEST_CASE("access_cache: allowing anonymous does not allow a credential", "[access_cache]") {
  access_cache cache(3600s);
  cache.allow(key(""));
  CHECK(cache.check(key("Bearer alice")) == access_verdict::unknown);
}

// ---- capacity ---------------------------------------------------------------

TEST_CASE("access_cache: inserting beyond capacity evicts the oldest", "[access_cache]") {
  access_cache cache(3600s, 4);
  for (int i = 0; i < 5; ++i) cache.allow(key("Bearer " + std::to_string(i)));
  CHECK(cache.check(key("Bearer 0")) == access_verdict::unknown);
  CHECK(cache.check(key("Bearer 4")) == access_verdict::fresh);
}

TEST_CASE("access_cache: size stays within capacity under many inserts", "[access_cache]") {
  const std::size_t capacity = 16;
  access_cache cache(3600s, capacity);
  for (int i = 0; i < 1000; ++i) cache.allow(key("Bearer " + std::to_string(i)));
  std::size_t known = 0;
  for (int i = 0; i < 1000; ++i)
    if (cache.check(key("Bearer " + std::to_string(i))) != access_verdict::unknown) ++known;
  CHECK(known >= 1);
  CHECK(known <= capacity);
  CHECK(cache.check(key("Bearer 999")) == access_verdict::fresh);
}

TEST_CASE("access_cache: re-allowing a key at capacity evicts nothing", "[access_cache]") {
  access_cache cache(3600s, 2);
  cache.allow(key("Bearer a"));
  cache.allow(key("Bearer b"));
  cache.allow(key("Bearer a"));
  CHECK(cache.check(key("Bearer a")) == access_verdict::fresh);
  CHECK(cache.check(key("Bearer b")) == access_verdict::fresh);
}

TEST_CASE("access_cache: capacity one keeps the latest key", "[access_cache]") {
  access_cache cache(3600s, 1);
  cache.allow(key("Bearer a"));
  cache.allow(key("Bearer b"));
  CHECK(cache.check(key("Bearer a")) == access_verdict::unknown);
  CHECK(cache.check(key("Bearer b")) == access_verdict::fresh);
}

// ---- keys -------------------------------------------------------------------

TEST_CASE("access_cache key is stable for the same inputs", "[access_cache]") {
  CHECK(key("Bearer t") == key("Bearer t"));
}

TEST_CASE("access_cache key differs per credentials", "[access_cache]") {
  CHECK(key("Bearer alice") != key("Bearer bob"));
  CHECK(key("Basic dXNlcjpwYXNzd29yZA==") != key("Bearer dXNlcjpwYXNzd29yZA=="));
}

TEST_CASE("access_cache key of no credentials is the anonymous key", "[access_cache]") {
  const auto k = key("");
  CHECK(k.size() >= 9);
  CHECK(k.substr(k.size() - 9) == "anonymous");
  CHECK(k != key("Bearer t"));
}

TEST_CASE("access_cache key of the literal credential 'anonymous' is not anonymous",
          "[access_cache]") {
  CHECK(key("anonymous") != key(""));
}

TEST_CASE("access_cache key never contains the credential", "[access_cache]") {
  const std::string secret = "Bearer super-secret-token-value";
  CHECK(key(secret).find("super-secret-token-value") == std::string::npos);
}

TEST_CASE("access_cache key differs per repository", "[access_cache]") {
  CHECK(key("", "library/a") != key("", "library/b"));
}

TEST_CASE("access_cache key differs per digest", "[access_cache]") {
  CHECK(key("", "library/a", digest_a) != key("", "library/a", digest_b));
}

TEST_CASE("access_cache key differs per upstream", "[access_cache]") {
  CHECK(key("", "library/a", digest_a, "default") != key("", "library/a", digest_a, "ghcr"));
}

TEST_CASE("access_cache key keeps repository and digest apart", "[access_cache]") {
  // "a" + "b/c" must not collide with "a/b" + "c".
  CHECK(access_cache::key("u", "a", "b/c", "") != access_cache::key("u", "a/b", "c", ""));
}

TEST_CASE("access_cache: a capacity of zero remembers nothing", "[access_cache]") {
  access_cache cache(3600s, 0);
  const auto k = access_cache::key("up", "repo", "sha256:x", "");
  cache.allow(k);
  CHECK(cache.check(k) == access_verdict::unknown);
}
