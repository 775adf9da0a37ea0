#include "seeder/tracker.hpp"

#include <iterator>
#include <libtorrent/bencode.hpp>
#include <libtorrent/entry.hpp>

#include <algorithm>
#include <charconv>
#include <variant>
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

namespace {

// One announce's parameters (BEP 3), validated.
struct announce_request {
  std::string info_hash, peer_id, event;
  int port = -1;
  long long left = -1;
  std::size_t numwant = 50;
};

// The request, or the failure reason to answer with.
std::variant<announce_request, std::string> parse_announce(std::string_view query) {
  announce_request r;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    const auto key = pair.substr(0, eq), value = pair.substr(eq + 1);
    if (key == "info_hash" || key == "peer_id") {
      auto decoded = http::percent_decode(value);  // raw bytes
      if (!decoded) return "malformed " + std::string(key);
      (key == "info_hash" ? r.info_hash : r.peer_id) = std::move(*decoded);
    } else if (key == "port") {
      if (!number(value, r.port)) return "malformed port";
    } else if (key == "left") {
      if (!number(value, r.left)) return "malformed left";
    } else if (key == "event") {
      r.event = std::string(value);
    } else if (key == "numwant") {
      if (!number(value, r.numwant)) r.numwant = 50;
    }
  }
  if (r.info_hash.size() != 20) return "info_hash must be 20 bytes";
  if (r.peer_id.size() != 20) return "peer_id must be 20 bytes";
  if (r.port <= 0 || r.port > 65535) return "port out of range";
  return r;
}

// The IPv4 address of `from` (unspecified for a real IPv6 peer: compact lists are IPv4).
boost::asio::ip::address_v4 v4_of(const boost::asio::ip::address& from) {
  if (from.is_v4()) return from.to_v4();
  if (from.is_v6() && from.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, from.to_v6());
  return {};
}

}  // namespace

std::string tracker::announce(std::string_view query, const boost::asio::ip::address& from,
                              clock::time_point now) {
  auto parsed = parse_announce(query);
  if (auto* failure = std::get_if<std::string>(&parsed)) return tracker_failure(*failure);
  const auto& r = std::get<announce_request>(parsed);
  auto it = swarms_.find(r.info_hash);
  if (it == swarms_.end())
    return tracker_failure("unknown torrent: this tracker serves rookery's layers only");
  swarm& s = it->second;
  expire(s, now);
  const bool seed = r.left == 0;
  const auto v4 = v4_of(from);
  if (r.event == "stopped") {
    s.erase(r.peer_id);
  } else if (!v4.is_unspecified()) {
    if (!s.contains(r.peer_id)) make_room(s, v4);
  }
  const peer self{v4, static_cast<std::uint16_t>(r.port), seed, now};
  if (r.event != "stopped" && !v4.is_unspecified()) s[r.peer_id] = self;
  lt::entry answer(lt::entry::dictionary_t);
  answer["peers"] = compact_peers(s, r.peer_id, self, r.numwant);
  std::int64_t complete = 0;
  for (const auto& [id, p] : s) complete += p.seed ? 1 : 0;
  answer["complete"] = complete;
  answer["incomplete"] = static_cast<std::int64_t>(s.size()) - complete;
  answer["interval"] = static_cast<std::int64_t>(opts_.interval.count());
  answer["min interval"] = static_cast<std::int64_t>(opts_.min_interval.count());
  return bencoded(answer);
}

void tracker::make_room(swarm& s, const boost::asio::ip::address_v4& address) const {
  auto oldest = s.end(), oldest_here = s.end();
  std::size_t here = 0;
  for (auto it = s.begin(); it != s.end(); ++it) {
    if (oldest == s.end() || it->second.last_seen < oldest->second.last_seen) oldest = it;
    if (it->second.address != address) continue;
    ++here;
    if (oldest_here == s.end() || it->second.last_seen < oldest_here->second.last_seen)
      oldest_here = it;
  }
  if (here > 0 && here >= opts_.max_peers_per_address) {
    s.erase(oldest_here);
  } else if (s.size() >= opts_.max_peers_per_torrent && oldest != s.end()) {
    s.erase(oldest);
  }
}

std::string tracker::compact_peers(const swarm& s, const std::string& asker, const peer& self,
                                   std::size_t numwant) {
  // Not the asker itself (by id, or by address and port: a client that changed its peer id
  // would connect to itself), no seeds to a seed; start at a rotating offset so load spreads.
  std::vector<const peer*> candidates;
  candidates.reserve(s.size());
  for (const auto& [id, p] : s) {
    const bool itself = id == asker || (p.address == self.address && p.port == self.port);
    if (!itself && !(self.seed && p.seed)) candidates.push_back(&p);
  }
  std::string peers;
  const std::size_t n = std::min({numwant, opts_.max_numwant, candidates.size()});
  const std::size_t start = candidates.empty() ? 0 : (rotation_++ % candidates.size());
  for (std::size_t i = 0; i < n; ++i) {
    const peer& p = *candidates[(start + i) % candidates.size()];
    const auto bytes = p.address.to_bytes();
    peers.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    peers += static_cast<char>(p.port >> 8);
    peers += static_cast<char>(p.port & 0xff);
  }
  return peers;
}

}  // namespace rookery::seeder
