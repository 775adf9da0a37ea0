#include "pull/fetch_stagger.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace rookery::pull {
namespace asio = boost::asio;
namespace {

// How often a fetch's progress is looked at while the next one waits: a swarm's pieces arrive
// without waking the fetch (only bytes in order do).
constexpr auto look_every = std::chrono::milliseconds(100);

}  // namespace

asio::awaitable<std::optional<fetch_start>> fetch_stagger::start(const blob_request& request) {
  if (opts_.share <= 0) co_return co_await fetcher_.start(request);
  // A fetch that waits joins its swarm meanwhile (blob_source::prepare): it then has the
  // metainfo and peers even if the seeder goes away before its turn.
  if (turns_.full()) asio::co_spawn(io_, fetcher_.prepare(request), asio::detached);
  auto turn = co_await turns_.acquire();
  if (store_.contains(request.digest)) co_return std::nullopt;
  // start() registers the fetch before it first waits, so pass_turn (whose first look comes
  // after a pause) finds it until it ends.
  asio::co_spawn(io_, pass_turn(std::move(turn), request.digest), asio::detached);
  co_return co_await fetcher_.start(request);
}

asio::awaitable<void> fetch_stagger::pass_turn([[maybe_unused]] concurrency_limit::permit turn,
                                               layers::digest d) {
  const auto until = std::chrono::steady_clock::now() + opts_.max_wait;
  asio::steady_timer pause(io_);
  for (;;) {
    pause.expires_after(look_every);
    co_await pause.async_wait(asio::use_awaitable);
    const auto f = fetcher_.find(d);
    // Ended, or its run ended without a word (no reader left after bytes came).
    if (!f || (f->written > 0 && !f->reader)) co_return;
    const std::uint64_t held = f->held();
    // A blob of unknown size is under way with its first byte.
    if (f->size ? static_cast<double>(held) >= opts_.share * static_cast<double>(*f->size)
                : held > 0) {
      spdlog::debug("{} holds {} bytes: the next fetch may start", d.str(), held);
      co_return;
    }
    if (held == 0 && std::chrono::steady_clock::now() >= until) {
      spdlog::debug("{} has no bytes yet: the next fetch starts anyway", d.str());
      co_return;
    }
  }
}

}  // namespace rookery::pull
