#include "pull/prefetcher.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace rookery::pull {
namespace asio = boost::asio;

bool prefetcher::push(blob_request request) {
  const auto& d = request.digest;
  if (store_.contains(d) || fetcher_.find(d) || queued_digests_.contains(d)) return false;
  if (queue_.size() >= opts_.queue) {
    ++dropped_;
    return false;
  }
  queued_digests_.insert(d);
  queue_.push_back(std::move(request));
  if (workers_ < opts_.concurrency) {
    ++workers_;
    asio::co_spawn(io_, work(), asio::detached);
  }
  return true;
}

asio::awaitable<void> prefetcher::work() {
  while (!queue_.empty()) {
    const blob_request request = std::move(queue_.front());
    queue_.pop_front();
    queued_digests_.erase(request.digest);
    if (store_.contains(request.digest)) continue;
    co_await prefetch_one(request);
  }
  --workers_;
}

asio::awaitable<void> prefetcher::prefetch_one(const blob_request& request) {
  const auto started = co_await stagger_.start(request);
  if (!started) co_return;  // a client's fetch stored it while this one waited its turn
  if (!started->job) {
    if (!started->refusal.status)
      spdlog::info("prefetch of {} did not start: {}", request.digest.str(),
                   started->error.message());
    co_return;
  }
  // The place stays taken until the blob is in (or the fetch failed).
  const auto job = started->job;
  while (job->state == fetch::phase::running || job->state == fetch::phase::starting)
    co_await job->changed();
}

}  // namespace rookery::pull
