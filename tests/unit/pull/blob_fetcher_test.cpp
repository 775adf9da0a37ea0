#include "pull/blob_fetcher.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "tests/unit/pull/held_source.hpp"

using namespace rookery;
namespace asio = boost::asio;

namespace {

asio::awaitable<void> ask(pull::blob_fetcher& fetcher, pull::blob_request request) {
  co_await fetcher.start(request);
}

// Runs `io` until `done` holds (bounded: a stuck test fails instead of hanging).
template <class F>
void run_until(asio::io_context& io, F done) {
  for (int i = 0; i < 5000 && !done(); ++i) io.run_for(std::chrono::milliseconds(1));
  REQUIRE(done());
}

}  // namespace

TEST_CASE("blob_fetcher lets only max_fetches fetches reach the source at once", "[blob_fetcher]") {
  asio::io_context io;
  test::temp_dir dir;
  layers::blob_store store({dir.path});
  test::held_source source(io);
  asio::thread_pool disk(1);
  pull::blob_fetcher fetcher(io, store, source, disk, 2);
  std::vector<layers::digest> digests;
  for (int i = 0; i < 5; ++i) {
    digests.push_back(source.add("blob " + std::to_string(i)));
    const pull::blob_request request{nullptr, "demo/app", digests.back(), ""};
    asio::co_spawn(io, ask(fetcher, request), asio::detached);
  }
  run_until(io, [&] { return source.open_now() == 2; });
  io.poll();
  CHECK(source.opened() == 2);
  CHECK(fetcher.queued() == 3);
  CHECK(fetcher.inflight() == 5);  // queued fetches are joinable, not refused
  source.release();
  run_until(io, [&] { return store.blob_count() == 5; });
  CHECK(source.max_open() == 2);
  CHECK(fetcher.counters().queued == 3);
  CHECK(fetcher.counters().fetches == 5);
  run_until(io, [&] { return fetcher.inflight() == 0; });  // no reader outlives the source
}

TEST_CASE("blob_fetcher with no limit opens every fetch at once", "[blob_fetcher]") {
  asio::io_context io;
  test::temp_dir dir;
  layers::blob_store store({dir.path});
  test::held_source source(io);
  asio::thread_pool disk(1);
  pull::blob_fetcher fetcher(io, store, source, disk, 0);
  for (int i = 0; i < 20; ++i) {
    const pull::blob_request request{nullptr, "demo/app", source.add(std::to_string(i)), ""};
    asio::co_spawn(io, ask(fetcher, request), asio::detached);
  }
  run_until(io, [&] { return source.open_now() == 20; });
  source.release();
  run_until(io, [&] { return store.blob_count() == 20; });
  CHECK(fetcher.counters().queued == 0);
  run_until(io, [&] { return fetcher.inflight() == 0; });
}
