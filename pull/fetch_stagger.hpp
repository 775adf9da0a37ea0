// Fetches nobody waits for yet (prefetches, prewarms) start one after another, not all at once:
// each once the one started before it holds a share of its blob. On the swarm testbed (16 hosts,
// an image of four layers) starting every layer at once split what the origin sends each host
// four ways, so the hosts got their first pieces (the ones they pass on) late, and they finished
// all layers at about the same moment, so a client that reads the layers in turn (skopeo) still
// had three to copy at the end. With a share of 0.2 the 16 hosts finished in 1.36-1.37x the link
// limit against 1.42-1.45x with all at once (shares of 0.1-0.3 alike, 0.5 and more worse; one
// layer after another with no overlap worst: a ramp per layer). A fetch that waits joins its
// blob's swarm meanwhile without downloading (blob_source::prepare): should the seeder go away
// before its turn, it still has the metainfo and the peers, and the hosts fill it from the
// registry between them instead of each taking all of it.
#pragma once

#include <utility>  // before Asio: Boost 1.74 needs std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>

#include "layers/blob_store.hpp"
#include "pull/blob_fetcher.hpp"
#include "pull/concurrency_limit.hpp"

namespace rookery::pull {

struct stagger_options {
  /// The share of its blob a fetch holds before the next one starts; 0: all start at once.
  double share = 0;
  /// A fetch that has no byte yet after this long holds up the next no more (a source slow to
  /// answer). One that has bytes is waited for: a stalled swarm falls back by itself.
  std::chrono::milliseconds max_wait{3000};
};

/// Single-threaded (the io_context's). Must outlive the io_context's run, like the fetcher.
class fetch_stagger {
 public:
  fetch_stagger(boost::asio::io_context& io, blob_fetcher& fetcher, layers::blob_store& store,
                stagger_options opts = {})
      : io_(io), fetcher_(fetcher), store_(store), opts_(opts), turns_(io, 1) {}

  /// blob_fetcher::start, once the fetch started before it through here is under way; nothing
  /// when the blob was stored meanwhile (a client asked for it and its fetch ended).
  boost::asio::awaitable<std::optional<fetch_start>> start(const blob_request& request);

 private:
  /// Holds the turn until the fetch of `d` holds its share, ended, or had no byte for max_wait.
  boost::asio::awaitable<void> pass_turn(concurrency_limit::permit turn, layers::digest d);

  boost::asio::io_context& io_;
  blob_fetcher& fetcher_;
  layers::blob_store& store_;
  stagger_options opts_;
  concurrency_limit turns_;
};

}  // namespace rookery::pull
