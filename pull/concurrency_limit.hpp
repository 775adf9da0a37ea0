// At most N of something at once, the rest queued in arrival order: the coroutine form of a
// counting semaphore, for work that must wait its turn rather than be refused (upstream fetches,
// prefetches).
#pragma once

#include <utility>  // before Asio: Boost 1.74 needs std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <deque>
#include <memory>

namespace rookery::pull {

/// Single-threaded: the io_context's thread only. A permit may outlive its limit (coroutine
/// frames destroyed with the io_context at shutdown).
class concurrency_limit {
  struct state;

 public:
  /// One of the `limit` places; gives it back (to the longest waiter) when destroyed.
  class permit {
   public:
    permit() = default;
    permit(permit&&) noexcept = default;
    permit& operator=(permit&& other) noexcept;
    ~permit() { release(); }
    explicit operator bool() const noexcept { return state_ != nullptr; }

   private:
    friend class concurrency_limit;
    explicit permit(std::shared_ptr<state> s) : state_(std::move(s)) {}
    void release() noexcept;
    std::shared_ptr<state> state_;
  };

  /// `limit` 0 means no limit.
  concurrency_limit(boost::asio::io_context& io, std::size_t limit);
  concurrency_limit(const concurrency_limit&) = delete;
  concurrency_limit& operator=(const concurrency_limit&) = delete;

  /// A permit at once when a place is free and nobody waits, else after those queued earlier.
  boost::asio::awaitable<permit> acquire();

  std::size_t active() const noexcept;
  std::size_t waiting() const noexcept;
  std::size_t limit() const noexcept;
  /// Whether acquire() would have to wait now.
  bool full() const noexcept;

 private:
  struct waiter {
    explicit waiter(boost::asio::io_context& io) : wake(io) {}
    boost::asio::steady_timer wake;
    bool granted = false;
  };
  struct state {
    std::size_t limit = 0;
    std::size_t active = 0;
    std::deque<std::shared_ptr<waiter>> waiters;
    void release() noexcept;
  };

  boost::asio::io_context& io_;
  std::shared_ptr<state> state_;
};

}  // namespace rookery::pull
