#include "pull/prefetcher.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <catch2/catch.hpp>
#include <vector>

#include "tests/unit/pull/held_source.hpp"
#include "tests/unit/run_until.hpp"

using namespace rookery;
namespace asio = boost::asio;

namespace {

using test::run_until;

struct fixture {
  asio::io_context io;
  test::temp_dir dir;
  layers::blob_store store{{dir.path}};
  test::held_source source{io};
  asio::thread_pool disk{1};
  pull::blob_fetcher fetcher{io, store, source, disk, 16};
  pull::fetch_stagger all_at_once{io, fetcher, store};

  // Until every fetch ended: no reader may outlive the source.
  void drain(const pull::prefetcher& prefetch) {
    run_until(io, [&] { return prefetch.running() == 0 && fetcher.inflight() == 0; });
  }

  pull::blob_request request(int i) {
    return {nullptr, "demo/app", source.add("layer " + std::to_string(i)), ""};
  }
};

}  // namespace

TEST_CASE("prefetcher runs a few fetches at once and queues the rest", "[prefetcher]") {
  fixture f;
  pull::prefetcher prefetch(f.io, f.fetcher, f.store, f.all_at_once, {2, 100});
  for (int i = 0; i < 10; ++i) CHECK(prefetch.push(f.request(i)));
  run_until(f.io, [&] { return f.source.open_now() == 2; });
  f.io.poll();
  CHECK(f.source.opened() == 2);
  CHECK(prefetch.queued() == 8);
  CHECK(prefetch.running() == 2);
  f.source.release();
  run_until(f.io, [&] { return f.store.blob_count() == 10; });
  CHECK(f.source.max_open() == 2);
  f.drain(prefetch);
}

TEST_CASE("prefetcher drops what does not fit its queue", "[prefetcher]") {
  fixture f;
  pull::prefetcher prefetch(f.io, f.fetcher, f.store, f.all_at_once, {1, 3});
  int queued = 0;
  for (int i = 0; i < 25000; ++i) queued += prefetch.push(f.request(i)) ? 1 : 0;
  CHECK(queued == 3);
  CHECK(prefetch.dropped() == 25000 - 3);
  f.source.release();
  run_until(f.io, [&] { return f.store.blob_count() == 3; });
  f.drain(prefetch);
  CHECK(f.source.opened() == 3);
}

TEST_CASE("prefetcher skips blobs stored, queued or being fetched", "[prefetcher]") {
  fixture f;
  pull::prefetcher prefetch(f.io, f.fetcher, f.store, f.all_at_once, {1, 100});
  const auto first = f.request(1);
  CHECK(prefetch.push(first));
  CHECK_FALSE(prefetch.push(first));  // queued already
  run_until(f.io, [&] { return f.source.open_now() == 1; });
  CHECK_FALSE(prefetch.push(first));  // being fetched
  f.source.release();
  run_until(f.io, [&] { return f.store.blob_count() == 1; });
  CHECK_FALSE(prefetch.push(first));  // stored
  CHECK(prefetch.dropped() == 0);
  CHECK(f.source.opened() == 1);
  f.drain(prefetch);
}

namespace {

// A prefetcher whose blobs start one after another: each once the one before holds half of
// its bytes, or has had no byte for `wait`.
struct staggered : fixture {
  explicit staggered(std::chrono::milliseconds wait = std::chrono::seconds(60))
      : stagger(io, fetcher, store, {0.5, wait}), prefetch(io, fetcher, store, stagger, {8, 100}) {}

  /// Queues `n` blobs of 7 bytes and runs until the first one's fetch is open.
  std::vector<pull::blob_request> push(int n) {
    std::vector<pull::blob_request> requests;
    for (int i = 0; i < n; ++i) {
      requests.push_back(request(i));
      CHECK(prefetch.push(requests.back()));
    }
    run_until(io, [&] { return source.opened() == 1; });
    return requests;
  }
  /// Lets every blob arrive, until `n` are stored and every fetch ended.
  void finish(std::size_t n) {
    source.release();
    run_until(io, [&] { return store.blob_count() == n; });
    drain(prefetch);
  }

  pull::fetch_stagger stagger;
  pull::prefetcher prefetch;
};

}  // namespace

TEST_CASE("prefetcher with a stagger starts a blob once the one before holds its share",
          "[prefetcher]") {
  staggered f;
  f.push(3);
  f.io.run_for(std::chrono::milliseconds(300));
  CHECK(f.source.opened() == 1);  // the first holds nothing yet
  f.source.hold(3);
  f.io.run_for(std::chrono::milliseconds(300));
  CHECK(f.source.opened() == 1);  // 3 of 7 bytes: under half
  f.source.hold(4);               // each reader holds 4 of 7: the rest follow one by one
  run_until(f.io, [&] { return f.source.opened() == 3; });
  CHECK(f.store.blob_count() == 0);
  f.finish(3);
}

TEST_CASE("prefetcher's stagger: a blob with no byte yet holds up the next for a while only",
          "[prefetcher]") {
  staggered f(std::chrono::milliseconds(200));
  const auto pushed = std::chrono::steady_clock::now();
  f.push(2);
  run_until(f.io, [&] { return f.source.opened() == 2; });  // the first never gets under way
  CHECK(std::chrono::steady_clock::now() - pushed >= std::chrono::milliseconds(200));
  f.finish(2);
}

TEST_CASE("prefetcher does not fetch again a blob a client fetched while it waited its turn",
          "[prefetcher]") {
  staggered f;
  const auto second = f.push(2)[1];
  // A client asks for the second blob itself, while its prefetch waits for the first.
  boost::asio::co_spawn(
      f.io, [&]() -> boost::asio::awaitable<void> { co_await f.fetcher.start(second); },
      boost::asio::detached);
  run_until(f.io, [&] { return f.source.opened() == 2; });
  // The second's prefetch got its turn and found the blob stored (or, on a slow machine, still
  // being fetched, and joined it): either way its source was opened once.
  f.finish(2);
  CHECK(f.source.opened() == 2);
}
