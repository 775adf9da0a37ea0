// Fetches of blobs nobody asked for yet (an image's layers once its manifest was read), a few at
// a time from a bounded queue: a manifest with thousands of descriptors queues them instead of
// starting thousands of fetches, and past the queue's bound they are dropped (a client that
// wants such a blob asks for it and starts its fetch itself).
#pragma once

#include <utility>  // before Asio: Boost 1.74 needs std::exchange

#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_set>

#include "layers/blob_store.hpp"
#include "pull/blob_fetcher.hpp"
#include "pull/fetch_stagger.hpp"

namespace rookery::pull {

struct prefetch_options {
  std::size_t concurrency = 8;  ///< prefetches fetching at once
  std::size_t queue = 1024;     ///< prefetches waiting; more are dropped
};

/// Single-threaded (the io_context's). Must outlive the io_context's run (its workers hold
/// `this`), like the blob_fetcher it feeds. Prefetches start through the stagger.
class prefetcher {
 public:
  prefetcher(boost::asio::io_context& io, blob_fetcher& fetcher, layers::blob_store& store,
             fetch_stagger& stagger, prefetch_options opts = {})
      : io_(io), fetcher_(fetcher), store_(store), stagger_(stagger), opts_(opts) {}

  /// Queues a fetch of the request's blob unless it is stored, being fetched or queued already.
  /// False when it was not queued (dropped when the queue is full).
  bool push(blob_request request);

  std::size_t queued() const noexcept { return queue_.size(); }
  std::size_t running() const noexcept { return workers_; }
  std::uint64_t dropped() const noexcept { return dropped_; }

 private:
  boost::asio::awaitable<void> work();
  boost::asio::awaitable<void> prefetch_one(const blob_request& request);

  boost::asio::io_context& io_;
  blob_fetcher& fetcher_;
  layers::blob_store& store_;
  fetch_stagger& stagger_;
  prefetch_options opts_;
  std::deque<blob_request> queue_;
  std::unordered_set<layers::digest> queued_digests_;
  std::size_t workers_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace rookery::pull
