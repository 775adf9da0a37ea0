// Bans that last. libtorrent's smart-ban bans a peer that sent a corrupt block, but forgets it
// when the banned host connects in again: with several connections per address allowed (hosts
// behind one address), the listen port its handshake announces replaces the banned entry, and
// the host sends the same corrupt piece again. This plugin remembers each banned host by address
// and listen port and hangs up on it at its handshake, whichever side connected.
#pragma once

#include <libtorrent/extensions.hpp>
#include <libtorrent/socket.hpp>
#include <memory>
#include <mutex>
#include <set>

namespace rookery::p2p {

/// Hosts banned in one session, by address and listen port. Thread-safe: the alert handler
/// adds, libtorrent's network thread asks.
class ban_list {
 public:
  void add(const lt::tcp::endpoint& host);
  bool contains(const lt::tcp::endpoint& host) const;

 private:
  mutable std::mutex mutex_;
  std::set<lt::tcp::endpoint> banned_;
};

/// A session plugin (for session_params::extensions) that disconnects hosts on `bans`.
std::shared_ptr<lt::plugin> keep_bans(std::shared_ptr<const ban_list> bans);

}  // namespace rookery::p2p
