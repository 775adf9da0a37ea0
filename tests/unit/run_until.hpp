// Runs an io_context until a condition holds, for tests that drive coroutines by hand.
#pragma once

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>

namespace rookery::test {

/// Runs `io` in 1 ms steps until `done()` holds; fails the test after about five seconds
/// instead of hanging.
template <class F>
void run_until(boost::asio::io_context& io, F done) {
  for (int i = 0; i < 5000 && !done(); ++i) io.run_for(std::chrono::milliseconds(1));
  REQUIRE(done());
}

}  // namespace rookery::test
