#include "seeder/tracker.hpp"

#include <iterator>
#include <libtorrent/bencode.hpp>
#include <libtorrent/entry.hpp>

#include <charconv>
#include <vector>

#include "http/query.hpp"

namespace rookery::seeder {
namespace {

template <class T>
bool number(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size();
}

std::string bencoded(const lt::entry& e) {
  std::string out;
  lt::bencode(std::back_inserter(out), e);
  return out;
}

}  // namespace

std::string tracker_failure(std::string_view reason) {
  lt::entry answer(lt::entry::dictionary_t);
  answer["failure reason"] = std::string(reason);
  return bencoded(answer);
}

void tracker::expire(swarm& s, clock::time_point now) const {
  const auto horizon = 2 * opts_.interval + std::chrono::seconds(10);
  std::erase_if(s, [&](const auto& entry) { return now - entry.second.last_seen > horizon; });
}

std::size_t tracker::peer_count() const {
  std::size_t n = 0;
  for (const auto& [hash, s] : swarms_) n += s.size();
  return n;
}

std::string tracker::announce(std::string_view query, const boost::asio::ip::address& from,
                              clock::time_point now) {
  std::string info_hash, peer_id, event;
  int port = -1;
  long long left = -1;
  std::size_t numwant = 50;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    const auto key = pair.substr(0, eq), value = pair.substr(eq + 1);
    if (key == "info_hash") {
      auto decoded = http::percent_decode(value);  // raw bytes
      if (!decoded) return tracker_failure("malformed info_hash");
      info_hash = std::move(*decoded);
    } else if (key == "peer_id") {
      auto decoded = http::percent_decode(value);
      if (!decoded) return tracker_failure("malformed peer_id");
      peer_id = std::move(*decoded);
    } else if (key == "port") {
      if (!number(value, port)) return tracker_failure("malformed port");
    } else if (key == "left") {
      if (!number(value, left)) return tracker_failure("malformed left");
    } else if (key == "event") {
      event = std::string(value);
    } else if (key == "numwant") {
      if (!number(value, numwant)) numwant = 50;
    }
  }
  if (info_hash.size() != 20) return tracker_failure("info_hash must be 20 bytes");
  if (peer_id.size() != 20) return tracker_failure("peer_id must be 20 bytes");
  if (port <= 0 || port > 65535) return tracker_failure("port out of range");
  auto it = swarms_.find(info_hash);
  if (it == swarms_.end())
    return tracker_failure("unknown torrent: this tracker serves rookery's layers only");
  swarm& s = it->second;
  expire(s, now);

  boost::asio::ip::address_v4 v4;
  if (from.is_v4()) {
    v4 = from.to_v4();
  } else if (from.is_v6() && from.to_v6().is_v4_mapped()) {
    v4 = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, from.to_v6());
  }
  const bool seed = left == 0;
  if (event == "stopped") {
    s.erase(peer_id);
  } else if (!v4.is_unspecified()) {
    if (!s.contains(peer_id) && s.size() >= opts_.max_peers_per_torrent) {
      // Full: make room by dropping the longest-silent peer.
      auto oldest = s.begin();
      for (auto p = s.begin(); p != s.end(); ++p) {
        if (p->second.last_seen < oldest->second.last_seen) oldest = p;
      }
      s.erase(oldest);
    }
    s[peer_id] = peer{v4, static_cast<std::uint16_t>(port), seed, now};
  }

  // Compact list: seeds are no use to a seed; start at a rotating offset so load spreads.
  std::vector<const peer*> candidates;
  candidates.reserve(s.size());
  for (const auto& [id, p] : s) {
    if (id != peer_id && !(seed && p.seed)) candidates.push_back(&p);
  }
  numwant = std::min(numwant, opts_.max_numwant);
  std::string peers;
  const std::size_t n = std::min(numwant, candidates.size());
  const std::size_t start = candidates.empty() ? 0 : (rotation_++ % candidates.size());
  for (std::size_t i = 0; i < n; ++i) {
    const peer& p = *candidates[(start + i) % candidates.size()];
    const auto bytes = p.address.to_bytes();
    peers.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    peers += static_cast<char>(p.port >> 8);
    peers += static_cast<char>(p.port & 0xff);
  }
  std::size_t complete = 0;
  for (const auto& [id, p] : s) complete += p.seed ? 1 : 0;

  lt::entry answer(lt::entry::dictionary_t);
  answer["complete"] = static_cast<std::int64_t>(complete);
  answer["incomplete"] = static_cast<std::int64_t>(s.size() - complete);
  answer["interval"] = static_cast<std::int64_t>(opts_.interval.count());
  answer["min interval"] = static_cast<std::int64_t>(opts_.min_interval.count());
  answer["peers"] = std::move(peers);
  return bencoded(answer);
}

}  // namespace rookery::seeder
