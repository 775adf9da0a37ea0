#include "http/offload.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <chrono>
#include <thread>

namespace asio = boost::asio;
using rookery::http::background_job;

namespace {

// Runs on the pool: waits (bounded) for the io thread to set `go`, so it only returns true
// when the coroutine went on while the job ran.
bool saw(const std::atomic<bool>& go) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!go.load() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return go.load();
}

asio::awaitable<void> go_on_while_it_runs(background_job<bool>& job, asio::thread_pool& pool,
                                          std::atomic<bool>& go, int& result) {
  job.start(pool, [&go] { return saw(go); });
  CHECK(job.busy());
  go = true;  // the coroutine runs on while the job waits for this
  result = co_await job.wait() ? 1 : 0;
  CHECK_FALSE(job.started());
}

}  // namespace

TEST_CASE("background_job runs while its coroutine goes on, and wait gives its result",
          "[offload]") {
  asio::io_context io;
  asio::thread_pool pool(1);
  background_job<bool> job(io);
  std::atomic<bool> go{false};
  int result = -1;
  asio::co_spawn(io, go_on_while_it_runs(job, pool, go, result), asio::detached);
  for (int i = 0; i < 10000 && result < 0; ++i) io.run_for(std::chrono::milliseconds(1));
  CHECK(result == 1);
}

TEST_CASE("offload returns the job's value on the io_context thread", "[offload]") {
  asio::io_context io;
  asio::thread_pool pool(1);
  std::thread::id ran_on, resumed_on;
  int value = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        value = co_await rookery::http::offload(io, pool, [&] {
          ran_on = std::this_thread::get_id();
          return 42;
        });
        resumed_on = std::this_thread::get_id();
      },
      asio::detached);
  for (int i = 0; i < 10000 && value == 0; ++i) io.run_for(std::chrono::milliseconds(1));
  CHECK(value == 42);
  CHECK(resumed_on == std::this_thread::get_id());
  CHECK(ran_on != std::this_thread::get_id());
}
