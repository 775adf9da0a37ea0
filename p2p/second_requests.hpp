// Second requests in the end game, held back: once every block of a torrent has been asked for,
// libtorrent asks each peer it has nothing outstanding with for a block already asked of
// another (its end game), so on a swarm of 16 hosts the last blocks of a layer came in up to
// fifteen times: 1.4-2.4 MB of a 32 MiB image per host arrived twice, on the very links that
// set the swarm's time. A host's extension holds each such second request back until the
// first one has been out for a while, and sends it then only if the block is still missing. A
// block whose first request is older than that is asked again at once, as libtorrent would
// (a peer that stopped sending). libtorrent cannot be told a held request was never sent: it
// cancels it once the block comes (a CANCEL the peer ignores) and keeps it on that peer's
// queue, so that connection asks for no further busy block; the torrent is all but done.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <libtorrent/extensions.hpp>
#include <memory>

namespace rookery::p2p {

/// What the extension did, summed over a session's torrents; read from any thread.
struct second_request_counters {
  std::atomic<std::uint64_t> held{0};    ///< second requests held back
  std::atomic<std::uint64_t> sent{0};    ///< ... and sent after all: the block was still missing
  std::atomic<std::uint64_t> spared{0};  ///< ... and never sent: the block came meanwhile
};

/// A torrent extension (for add_torrent_params::extensions) that holds a second request back
/// until the first has been out for `wait` (checked once a second). Runs on libtorrent's
/// network thread.
std::function<std::shared_ptr<lt::torrent_plugin>(const lt::torrent_handle&, lt::client_data_t)>
second_requests_held(std::chrono::milliseconds wait,
                     std::shared_ptr<second_request_counters> counters);

}  // namespace rookery::p2p
