#include "pull/concurrency_limit.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <vector>

using rookery::pull::concurrency_limit;
namespace asio = boost::asio;

namespace {

// Takes a place, notes that it got one, and keeps it in `held` (the test releases it).
asio::awaitable<void> take(concurrency_limit& limit, int id, std::vector<int>& order,
                           std::vector<concurrency_limit::permit>& held) {
  auto permit = co_await limit.acquire();
  order.push_back(id);
  held.push_back(std::move(permit));
}

void spawn_takers(asio::io_context& io, concurrency_limit& limit, int count,
                  std::vector<int>& order, std::vector<concurrency_limit::permit>& held) {
  for (int id = 0; id < count; ++id)
    asio::co_spawn(io, take(limit, id, order, held), asio::detached);
  io.poll();
}

}  // namespace

TEST_CASE("concurrency_limit grants up to its limit at once", "[concurrency_limit]") {
  asio::io_context io;
  concurrency_limit limit(io, 2);
  std::vector<int> order;
  std::vector<concurrency_limit::permit> held;
  spawn_takers(io, limit, 5, order, held);
  CHECK(order == std::vector<int>{0, 1});
  CHECK(limit.active() == 2);
  CHECK(limit.waiting() == 3);
  CHECK(limit.full());
}

TEST_CASE("concurrency_limit hands a freed place to the longest waiter", "[concurrency_limit]") {
  asio::io_context io;
  concurrency_limit limit(io, 2);
  std::vector<int> order;
  std::vector<concurrency_limit::permit> held;
  spawn_takers(io, limit, 5, order, held);
  held.erase(held.begin());
  io.poll();
  CHECK(order == std::vector<int>{0, 1, 2});
  CHECK(limit.active() == 2);
  held.clear();  // frees two: the next two waiters, in order
  io.poll();
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
  held.clear();
  CHECK(limit.active() == 0);
  CHECK(limit.waiting() == 0);
}

TEST_CASE("concurrency_limit of zero never makes anyone wait", "[concurrency_limit]") {
  asio::io_context io;
  concurrency_limit limit(io, 0);
  std::vector<int> order;
  std::vector<concurrency_limit::permit> held;
  spawn_takers(io, limit, 50, order, held);
  CHECK(order.size() == 50);
  CHECK_FALSE(limit.full());
}

TEST_CASE("concurrency_limit permit outlives its limit", "[concurrency_limit]") {
  asio::io_context io;
  std::vector<int> order;
  std::vector<concurrency_limit::permit> held;
  {
    concurrency_limit limit(io, 1);
    spawn_takers(io, limit, 1, order, held);
  }
  CHECK(held.size() == 1);
  held.clear();  // must not touch the destroyed limit
}
