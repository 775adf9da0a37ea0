// Runs blocking work (fsync, hashing a file) on a thread pool and resumes the coroutine on
// its io_context afterwards, so the network thread never blocks on the disk.
#pragma once

#include <utility>  // before Asio: Boost 1.74 needs std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <type_traits>

namespace rookery::http {

/// `co_await offload(io, pool, fn)` runs fn() on `pool` and returns its result on `io`.
template <class F>
boost::asio::awaitable<std::invoke_result_t<F&>> offload(boost::asio::io_context& io,
                                                         boost::asio::thread_pool& pool, F fn) {
  namespace asio = boost::asio;
  std::optional<std::invoke_result_t<F&>> result;
  boost::asio::steady_timer done(io, boost::asio::steady_timer::time_point::max());
  boost::asio::post(pool, [&] {
    result.emplace(fn());
    boost::asio::post(io, [&] { done.cancel(); });
  });
  boost::system::error_code ignored;  // cancel() is the wake-up
  co_await done.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
  co_return std::move(*result);
}

}  // namespace rookery::http
