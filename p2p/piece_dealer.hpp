// The origin's piece dealer: a libtorrent plugin on the seeder that makes each piece leave the
// origin about once. The origin shows each host only a small window of pieces nobody has been
// dealt yet (BEP 54's DONT_HAVE hides the rest, HAVE adds a piece), and tops the window up as
// the host asks for their blocks; the hosts trade what they were dealt among themselves. A piece
// dealt to a host that stops asking for it goes to the next host after a few seconds. Once
// every piece has been dealt (the tail) a host sees everything again, and a piece that has
// reached a host (HAVE), or was sent long ago, may leave the origin once more every few seconds
// (to the first host that asks): the origin's link would otherwise idle, and it stays the sure
// source of every piece. A piece still queued for its first host, or still spreading among the
// hosts, is not sent twice. The one host still fetching while every other host connected here
// has the whole blob gets whatever it asks for. A request the dealer turns away is rejected
// (BEP 6) and the piece hidden from that host. A host is dealt its first window when it says
// it is interested, not at its handshake: one that joined a swarm without downloading yet (a
// layer waiting for its turn) holds no piece another host may need.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <libtorrent/extensions.hpp>
#include <memory>

namespace rookery::p2p {

/// What the dealers of one session did, summed over torrents; read from any thread.
struct dealer_counters {
  std::atomic<std::uint64_t> dealt{0};         ///< pieces dealt to a host
  std::atomic<std::uint64_t> redirected{0};    ///< requests for another host's piece turned away
  std::atomic<std::uint64_t> served_again{0};  ///< blocks of a dealt piece sent to another host
  std::atomic<std::uint64_t> unmasked{0};      ///< hosts shown every piece (the tail)
  std::atomic<std::uint64_t> lapsed{0};        ///< pieces dealt again: their host stopped asking
  std::atomic<std::uint64_t> released{0};      ///< pieces dealt again: their host disconnected
  std::atomic<std::uint64_t> hosts{0};         ///< host connections seen
};

/// A torrent extension (for add_torrent_params::extensions) dealing the `pieces` pieces of
/// `piece_length` bytes of a torrent of `total_size` bytes. Runs on libtorrent's network thread.
std::function<std::shared_ptr<lt::torrent_plugin>(const lt::torrent_handle&, lt::client_data_t)>
piece_dealer(int pieces, int piece_length, std::int64_t total_size,
             std::shared_ptr<dealer_counters> counters);

}  // namespace rookery::p2p
