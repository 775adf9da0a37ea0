#include "pull/blob_fetcher.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>
#include <boost/asio/co_spawn.hpp>

#include <boost/asio/detached.hpp>

#include "tests/unit/pull/held_source.hpp"
#include "tests/unit/run_until.hpp"

using namespace rookery;
namespace asio = boost::asio;

namespace {

using test::run_until;

asio::awaitable<void> ask(pull::blob_fetcher& fetcher, pull::blob_request request) {
  co_await fetcher.start(request);
}

// A fetcher over a held_source and a store in a temporary directory.
struct fetcher_rig {
  explicit fetcher_rig(std::size_t max_fetches = pull::blob_fetcher::default_max_fetches)
      : fetcher(io, store, source, disk, max_fetches) {}
  asio::io_context io;
  test::temp_dir dir;
  layers::blob_store store{{dir.path}};
  test::held_source source{io};
  asio::thread_pool disk{1};
  pull::blob_fetcher fetcher;
};

}  // namespace

TEST_CASE("blob_fetcher lets only max_fetches fetches reach the source at once", "[blob_fetcher]") {
  fetcher_rig rig(2);
  auto& [io, dir, store, source, disk, fetcher] = rig;
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
  fetcher_rig rig(0);
  auto& [io, dir, store, source, disk, fetcher] = rig;
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

TEST_CASE("blob_fetcher stores a blob of many chunks byte for byte", "[blob_fetcher]") {
  // Chunks are hashed and written on the fetcher's own threads while the next is read: the
  // stored blob must still be every byte in order, and commit only after the last.
  fetcher_rig rig;
  auto& [io, dir, store, source, disk, fetcher] = rig;
  std::string content;
  for (std::size_t i = 0; content.size() < (3 << 20) + 7; ++i) content += std::to_string(i * i);
  const auto d = source.add(content);
  asio::co_spawn(io, ask(fetcher, {nullptr, "demo/app", d, ""}), asio::detached);
  source.release();
  run_until(io, [&] { return store.contains(d) || fetcher.counters().failures > 0; });
  run_until(io, [&] { return fetcher.inflight() == 0; });
  auto lease = store.open(d);
  REQUIRE(lease);
  std::string stored(lease->size(), '\0');
  REQUIRE(::pread(lease->fd(), stored.data(), stored.size(), 0) ==
          static_cast<ssize_t>(stored.size()));
  CHECK(stored == content);
  CHECK(fetcher.counters().bytes_fetched == content.size());
  CHECK(fetcher.counters().failures == 0);
}
