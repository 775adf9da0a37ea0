// Blobs found on disk at start were never hashed by this process: before one is first served
// it is hashed once (however many clients ask at that moment; they wait for the one hash), off
// the network thread, and a blob that does not match its digest is quarantined, never served.
#pragma once

#include <utility>  // before Asio: Boost 1.74 needs std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <optional>
#include <unordered_map>

#include "layers/blob_store.hpp"

namespace rookery::pull {

/// What verify() found.
struct verify_outcome {
  bool intact = false;  ///< the blob may be served; false: it was quarantined
  bool hashed = false;  ///< this call ran the hash (others waited for it or needed none)
};

/// io_context thread only; `store` and `pool` must outlive it.
class stored_blob_verifier {
 public:
  stored_blob_verifier(boost::asio::io_context& io, layers::blob_store& store,
                       boost::asio::thread_pool& pool)
      : io_(io), store_(store), pool_(pool) {}

  /// Whether the blob behind `blob` may be served: at once when it was verified since the store
  /// opened, else after hashing it on the pool (marked verified, or quarantined when bad).
  boost::asio::awaitable<verify_outcome> verify(const layers::blob_store::lease& blob);

 private:
  // A hash in progress; those who wait on it wake when `good` is set.
  struct pending {
    explicit pending(boost::asio::io_context& io)
        : done(io, boost::asio::steady_timer::time_point::max()) {}
    boost::asio::steady_timer done;  ///< cancelled when `good` is set
    std::optional<bool> good;
  };
  boost::asio::awaitable<bool> wait_for(std::shared_ptr<pending> p);

  boost::asio::io_context& io_;
  layers::blob_store& store_;
  boost::asio::thread_pool& pool_;
  std::unordered_map<layers::digest, std::shared_ptr<pending>> hashing_;
};

}  // namespace rookery::pull
