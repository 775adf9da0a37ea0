#include "pull/prefetcher.hpp"

#include <catch2/catch.hpp>

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
  pull::prefetcher prefetch(f.io, f.fetcher, f.store, {2, 100});
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
  pull::prefetcher prefetch(f.io, f.fetcher, f.store, {1, 3});
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
  pull::prefetcher prefetch(f.io, f.fetcher, f.store, {1, 100});
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
