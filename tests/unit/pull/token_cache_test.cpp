#include "pull/token_cache.hpp"

#include <catch2/catch.hpp>

using rookery::pull::token_cache;
using namespace std::chrono_literals;

TEST_CASE("token_cache gives a token until it expires", "[token_cache]") {
  token_cache cache;
  const auto now = token_cache::clock::now();
  cache.put_token("realm|svc|repo:a:pull", "t1", now + 60s, now);
  CHECK(cache.token("realm|svc|repo:a:pull", now + 59s) == "t1");
  CHECK_FALSE(cache.token("realm|svc|repo:a:pull", now + 60s));
  CHECK_FALSE(cache.token("realm|svc|repo:b:pull", now));
}

TEST_CASE("token_cache keeps at most its capacity of tokens", "[token_cache]") {
  token_cache cache(3);
  const auto now = token_cache::clock::now();
  for (int i = 0; i < 100; ++i)
    cache.put_token("scope" + std::to_string(i), "t", now + std::chrono::seconds(100 + i), now);
  CHECK(cache.token_count() == 3);
  // The ones that expire soonest went first: the newest three are left.
  CHECK(cache.token("scope99", now));
  CHECK(cache.token("scope97", now));
  CHECK_FALSE(cache.token("scope0", now));
}

TEST_CASE("token_cache drops expired tokens before live ones", "[token_cache]") {
  token_cache cache(2);
  const auto now = token_cache::clock::now();
  cache.put_token("live", "a", now + 1000s, now);
  cache.put_token("dead", "b", now + 1s, now);
  cache.put_token("new", "c", now + 10s, now + 5s);
  CHECK(cache.token_count() == 2);
  CHECK(cache.token("live", now + 5s) == "a");
  CHECK(cache.token("new", now + 5s) == "c");
}

TEST_CASE("token_cache replaces a token in place when full", "[token_cache]") {
  token_cache cache(2);
  const auto now = token_cache::clock::now();
  cache.put_token("a", "1", now + 10s, now);
  cache.put_token("b", "2", now + 20s, now);
  cache.put_token("a", "3", now + 30s, now);
  CHECK(cache.token_count() == 2);
  CHECK(cache.token("a", now) == "3");
  CHECK(cache.token("b", now) == "2");
}

TEST_CASE("token_cache keeps at most its capacity of challenges", "[token_cache]") {
  token_cache cache(4);
  for (int i = 0; i < 1000; ++i)
    cache.put_challenge("client/repo" + std::to_string(i), "Bearer realm=x");
  CHECK(cache.challenge_count() == 4);
  CHECK(cache.challenge("client/repo999"));
  CHECK(cache.challenge("client/repo996"));
  CHECK_FALSE(cache.challenge("client/repo995"));
}

TEST_CASE("token_cache of capacity zero remembers nothing", "[token_cache]") {
  token_cache cache(0);
  const auto now = token_cache::clock::now();
  cache.put_token("a", "1", now + 10s, now);
  cache.put_challenge("r", "c");
  CHECK(cache.token_count() == 0);
  CHECK(cache.challenge_count() == 0);
}
