#include "pull/concurrency_limit.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace rookery::pull {
namespace asio = boost::asio;

concurrency_limit::permit& concurrency_limit::permit::operator=(permit&& other) noexcept {
  if (this != &other) {
    release();
    state_ = std::move(other.state_);
  }
  return *this;
}

void concurrency_limit::permit::release() noexcept {
  if (auto s = std::move(state_)) s->release();
}

concurrency_limit::concurrency_limit(asio::io_context& io, std::size_t limit)
    : io_(io), state_(std::make_shared<state>()) {
  state_->limit = limit;
}

std::size_t concurrency_limit::active() const noexcept {
  return state_->active;
}

std::size_t concurrency_limit::waiting() const noexcept {
  return state_->waiters.size();
}

std::size_t concurrency_limit::limit() const noexcept {
  return state_->limit;
}

bool concurrency_limit::full() const noexcept {
  return state_->limit != 0 && (state_->active >= state_->limit || !state_->waiters.empty());
}

asio::awaitable<concurrency_limit::permit> concurrency_limit::acquire() {
  if (!full()) {
    ++state_->active;
    co_return permit(state_);
  }
  auto me = std::make_shared<waiter>(io_);
  me->wake.expires_at(asio::steady_timer::time_point::max());
  state_->waiters.push_back(me);
  while (!me->granted) {
    boost::system::error_code ignored;  // cancel() is the wake-up
    co_await me->wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  co_return permit(state_);
}

void concurrency_limit::state::release() noexcept {
  // The place passes straight to the longest waiter still alive (a waiter whose coroutine was
  // destroyed is referenced by the queue alone).
  while (!waiters.empty()) {
    auto next = std::move(waiters.front());
    waiters.pop_front();
    if (next.use_count() == 1) continue;
    next->granted = true;
    next->wake.cancel();
    return;
  }
  if (active > 0) --active;
}

}  // namespace rookery::pull
