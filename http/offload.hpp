// Runs blocking work (fsync, hashing, writing a file) on a thread pool and resumes the
// coroutine on its io_context afterwards, so the network thread never blocks on the disk.
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

/// One job at a time on a pool, started now and awaited later, so the coroutine can go on
/// (read the next chunk) meanwhile. The owner must wait() for a started job before the job's
/// captures or this object go away.
template <class R>
class background_job {
 public:
  explicit background_job(boost::asio::io_context& io)
      : io_(io), done_(io, boost::asio::steady_timer::time_point::max()) {}

  bool started() const noexcept { return started_; }
  /// Started and not finished yet.
  bool busy() const noexcept { return started_ && !finished_; }

  /// Runs fn() on `pool`; then done(result) on the io_context, before wait() returns.
  template <class F, class Done>
  void start(boost::asio::thread_pool& pool, F fn, Done done) {
    started_ = true;
    finished_ = false;
    result_.reset();
    boost::asio::post(pool, [this, fn = std::move(fn), done = std::move(done)]() mutable {
      {
        F job = std::move(fn);  // its captures go before the io_context resumes
        result_.emplace(job());
      }
      boost::asio::post(io_, [this, done = std::move(done)]() mutable {
        done(*result_);
        finished_ = true;
        done_.cancel();
      });
    });
  }
  template <class F>
  void start(boost::asio::thread_pool& pool, F fn) {
    start(pool, std::move(fn), [](const R&) {});
  }

  /// The started job's result, on the io_context.
  boost::asio::awaitable<R> wait() {
    while (!finished_) {
      boost::system::error_code ignored;  // cancel() is the wake-up
      co_await done_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
    }
    started_ = false;
    co_return std::move(*result_);
  }

 private:
  boost::asio::io_context& io_;
  boost::asio::steady_timer done_;
  std::optional<R> result_;
  bool started_ = false;
  bool finished_ = false;  ///< set on the io_context thread only
};

/// `co_await offload(io, pool, fn)` runs fn() on `pool` and returns its result on `io`.
template <class F>
boost::asio::awaitable<std::invoke_result_t<F&>> offload(boost::asio::io_context& io,
                                                         boost::asio::thread_pool& pool, F fn) {
  background_job<std::invoke_result_t<F&>> job(io);
  job.start(pool, std::move(fn));
  co_return co_await job.wait();
}

}  // namespace rookery::http
