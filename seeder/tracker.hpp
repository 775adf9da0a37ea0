// A small HTTP BitTorrent tracker (BEP 3, compact peer lists per BEP 23) that answers only for
// the torrents it is told about, forgets peers that stop announcing, and bounds its memory.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "layers/layer_torrent.hpp"

namespace rookery::seeder {

struct tracker_options {
  std::chrono::seconds interval{15};  ///< how often peers re-announce
  std::chrono::seconds min_interval{5};
  std::size_t max_peers_per_torrent = 5000;
  std::size_t max_numwant = 200;
  /// Peer ids one address may hold in one torrent: a host that restarts (a new peer id) or
  /// floods ids replaces its own longest-silent entries, never pushes other hosts out. Several
  /// processes on one address (a test on loopback) need more than one.
  std::size_t max_peers_per_address = 16;
};

/// Single-threaded (the seeder's io_context).
class tracker {
 public:
  using clock = std::chrono::steady_clock;
  explicit tracker(tracker_options opts = {}) : opts_(opts) {}

  /// Starts answering for `h`.
  void allow(const layers::info_hash& h) { swarms_.try_emplace(h.to_string()); }
  void forget(const layers::info_hash& h) { swarms_.erase(h.to_string()); }
  bool knows(const layers::info_hash& h) const { return swarms_.contains(h.to_string()); }

  /// Answers the query string of `GET /announce?...` from `from`; the bencoded body (a
  /// `failure reason` dictionary for bad or unknown requests). `now` is injectable for tests.
  std::string announce(std::string_view query, const boost::asio::ip::address& from,
                       clock::time_point now = clock::now());

  std::size_t peer_count() const;
  std::size_t torrent_count() const noexcept { return swarms_.size(); }

 private:
  struct peer {
    boost::asio::ip::address_v4 address;
    std::uint16_t port = 0;
    bool seed = false;
    clock::time_point last_seen;
  };
  using swarm = std::unordered_map<std::string, peer>;  // by peer_id

  void expire(swarm& s, clock::time_point now) const;
  /// Before `address` adds a peer id to `s`: drops that address's longest-silent peer when it
  /// holds its share already, else the torrent's when the torrent is full.
  void make_room(swarm& s, const boost::asio::ip::address_v4& address) const;
  /// Up to `numwant` peers of `s` for `asker` in BEP 23's compact form.
  std::string compact_peers(const swarm& s, const std::string& asker, const peer& self,
                            std::size_t numwant);

  tracker_options opts_;
  std::unordered_map<std::string, swarm> swarms_;
  std::uint64_t rotation_ = 0;
};

/// `d14:failure reason<n>:<text>e`
std::string tracker_failure(std::string_view reason);

}  // namespace rookery::seeder
