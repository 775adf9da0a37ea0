#include "p2p/piece_dealer.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/peer_connection_handle.hpp>
#include <libtorrent/peer_request.hpp>
#include <numeric>
#include <unordered_map>
#include <utility>
#include <vector>

#include "p2p/wire.hpp"

namespace rookery::p2p {
namespace {

using clock = std::chrono::steady_clock;
// A host that has asked the origin for nothing within this long has stalled: what it was dealt
// and has not asked for in full goes to whoever asks next.
constexpr auto lease = std::chrono::seconds(15);
// In the tail a piece leaves the origin once more, and again only after this long: another
// host that has it should have passed it on by then (if it has not, it may be the one peer that
// has it, or a corrupt one, and the origin is the only sure source).
constexpr auto tail_repeat = std::chrono::seconds(10);
// In the tail, a piece a host has goes out once more only after this long. The hosts pass a
// piece on among themselves in about 4 s (16 hosts on the testbed, 10 Mbit/s); second copies
// sooner than that measured as pure waste (2 s: 5 % more origin egress, no faster).
constexpr auto spread = std::chrono::seconds(6);
// ... and only once no host has said it has it for this long: while HAVEs keep coming the hosts
// are still passing it on. (With 8 layers, 135 connections share each host's link and a piece
// takes longer than `spread` to go round: 16 hosts pulling 128 MiB got 393 and 547 second-copy
// blocks without this, 69 and 112 with it.)
constexpr auto quiet = std::chrono::seconds(3);
// ... or, however many HAVEs still come, once this long has passed since the first: hosts that
// keep finishing the piece must not hold off one that cannot reach them.
constexpr auto spread_at_most = std::chrono::seconds(30);
// Pieces a host is shown at a time: enough to keep its requests flowing while the next is
// dealt, but no more than a share of the torrent: with 64 pieces and 16 hosts, windows of 4
// would deal every piece in the first second and leave nothing to deal as hosts need it.
constexpr int max_window = 4;

struct piece_state {
  std::uint32_t owner = 0;   ///< the host it was dealt to; 0: not dealt
  int blocks_asked = 0;      ///< blocks the owner has asked for
  std::uint32_t second = 0;  ///< the last other host sent it in the tail
  clock::time_point second_at;
  int blocks_sent = 0;         ///< blocks sent to the owner
  clock::time_point sent_at;   ///< when the owner's last block was sent; epoch: not yet
  clock::time_point out_at;    ///< when a host first said it has it (HAVE); epoch: not yet
  clock::time_point heard_at;  ///< when a host last said it has it
};

// One torrent's deal, shared by its peer plugins (libtorrent's network thread only).
struct deal {
  deal(int pieces, int piece_length, std::int64_t total_size, std::shared_ptr<dealer_counters> c)
      : state(static_cast<std::size_t>(pieces)),
        piece_length(piece_length),
        total_size(total_size),
        counters(std::move(c)) {
    // In order: every host's proxy streams a layer to its client from the first byte on, so
    // the swarm as a whole should complete the early pieces first. (In random order a lone
    // host waited for piece 0 until most of the layer had arrived: 4.5 s for 1 GiB.)
    fresh.resize(state.size());
    std::iota(fresh.rbegin(), fresh.rend(), 0);
  }

  int pieces() const { return static_cast<int>(state.size()); }
  piece_state& at(int piece) { return state[static_cast<std::size_t>(piece)]; }
  int blocks_in(int piece) const {
    const std::int64_t start = static_cast<std::int64_t>(piece) * piece_length;
    const std::int64_t size = std::min<std::int64_t>(piece_length, total_size - start);
    return static_cast<int>((size + wire::block_size - 1) / wire::block_size);
  }
  bool asked_in_full(int piece) { return at(piece).blocks_asked >= blocks_in(piece); }
  bool taken(int piece, clock::time_point now) {
    const auto& s = at(piece);
    if (s.owner == 0 || asked_in_full(piece)) return s.owner != 0;
    const auto active = hosts.find(s.owner);
    return active != hosts.end() && now - active->second.last_ask < lease;
  }
  void give(int piece, std::uint32_t host) {
    if (at(piece).owner == host) return;
    if (at(piece).owner != 0) counters->lapsed.fetch_add(1, std::memory_order_relaxed);
    at(piece) = piece_state{host, 0, 0, {}, 0, {}, at(piece).out_at, at(piece).heard_at};
    counters->dealt.fetch_add(1, std::memory_order_relaxed);
  }
  /// Deals `host` a piece nobody holds and `lacks` says it lacks; -1 when none is left (a
  /// piece whose lease lapsed counts as not held).
  template <class Lacks>
  int deal_fresh(std::uint32_t host, clock::time_point now, Lacks lacks) {
    while (!fresh.empty()) {
      const int piece = fresh.back();
      fresh.pop_back();
      if (taken(piece, now) || !lacks(piece)) continue;
      give(piece, host);
      return piece;
    }
    for (int piece = 0; piece < pieces(); ++piece) {
      if (!taken(piece, now) && lacks(piece)) {
        give(piece, host);
        return piece;
      }
    }
    return -1;
  }

  /// In the tail: whether the origin sends `piece`, dealt to another host, to `host` too. Only
  /// once the piece has reached a host, had a moment to spread and stopped spreading (or, with
  /// no word of it, long after it was sent), and then once every tail_repeat. Dealt does not mean
  /// sent: the origin may still be sending the pieces dealt last when the first hosts reach the
  /// tail, and a second copy of a piece whose first is still queued here only holds up the ones
  /// behind it.
  bool again(int piece, std::uint32_t host, clock::time_point now) {
    const auto& s = at(piece);
    if (s.second == host) return true;
    const clock::time_point never{};
    const auto since_out = now - s.out_at;
    const bool out = s.out_at != never ? (since_out >= spread && now - s.heard_at >= quiet) ||
                                             since_out >= spread_at_most
                     : s.sent_at != never ? now - s.sent_at >= tail_repeat
                                          : false;
    return out && (s.second == 0 || now - s.second_at >= tail_repeat);
  }

  /// Whether every other host connected here has the whole blob or has not started on it (a
  /// held host): then `host` is the only one fetching it, and may reach no peer but the origin
  /// (one that comes after the others finished has not heard of them yet).
  bool alone(std::uint32_t host) const {
    return std::all_of(hosts.begin(), hosts.end(), [host](const auto& h) {
      return h.first == host || !h.second.fetching || h.second.pc.is_seed();
    });
  }

  std::vector<piece_state> state;
  std::vector<int> fresh;  ///< never dealt, lowest last (popped from the back)
  int piece_length;
  std::int64_t total_size;
  std::uint32_t next_host = 1;
  struct connected_host {
    lt::peer_connection_handle pc;
    clock::time_point last_ask;  ///< when it last asked for a block
    bool fetching = false;       ///< it said it is interested (a held host is not, yet)
  };
  std::unordered_map<std::uint32_t, connected_host> hosts;
  std::shared_ptr<dealer_counters> counters;
};

class dealer_peer final : public lt::peer_plugin {
 public:
  dealer_peer(std::shared_ptr<deal> d, lt::peer_connection_handle pc)
      : deal_(std::move(d)), pc_(std::move(pc)), host_(deal_->next_host++) {
    deal_->hosts.emplace(host_, deal::connected_host{pc_, clock::now()});
    deal_->counters->hosts.fetch_add(1, std::memory_order_relaxed);
  }
  ~dealer_peer() override { deal_->hosts.erase(host_); }

  bool on_extension_handshake(const lt::bdecode_node& handshake) override {
    const auto m = handshake.dict_find_dict("m");
    const auto id = m ? m.dict_find_int_value("lt_donthave", 0) : 0;
    if (id <= 0 || id > 255 || masked_) return true;
    dont_have_id_ = static_cast<std::uint8_t>(id);
    if (pc_.is_peer_interested()) mask();
    return true;
  }

  // The host is fetching from now on (a held host starts here): it counts against
  // deal::alone, and the window it is about to be dealt is not a lapsed one. Every INTERESTED
  // restarts its lease, not only the first: a host whose window ran dry turns not interested,
  // and interested again when the next piece is shown, and it is asking then.
  void started() {
    if (const auto me = deal_->hosts.find(host_); me != deal_->hosts.end()) {
      me->second.last_ask = clock::now();
      me->second.fetching = true;
    }
  }

  // A host that holds its download back (a layer waiting for its turn) joins the swarm but is
  // not interested: it is dealt nothing until it says it is, so no piece waits out a lease on a
  // host that does not ask for it. Everything comes before libtorrent answers the INTERESTED
  // with an unchoke, so the host asks only for its window.
  bool on_interested() override {
    started();
    if (dont_have_id_ != 0 && !masked_) mask();
    return false;
  }

  bool on_request(const lt::peer_request& r) override {
    const int piece = static_cast<int>(r.piece);
    if (piece < 0 || piece >= deal_->pieces() || pc_.is_choked())
      return false;  // libtorrent rejects it itself
    const auto now = clock::now();
    auto& s = deal_->at(piece);
    if (const auto me = deal_->hosts.find(host_); me != deal_->hosts.end())
      me->second.last_ask = now;
    if (s.owner == host_ || !deal_->taken(piece, now)) {
      deal_->give(piece, host_);
      ++s.blocks_asked;
      if (masked_ && deal_->asked_in_full(piece)) top_up(now);
      return false;
    }
    // A host that cannot be shown a window gets what it asks for; in the tail, a piece that has
    // had time to spread goes out once more, to the first host that asks (deal::again); and the
    // one host still fetching the blob here gets everything (deal::alone, the dearer check).
    if (!masked_ || (tail_ && deal_->again(piece, host_, now)) || deal_->alone(host_)) {
      if (masked_ && s.second != host_) {
        s.second = host_;
        s.second_at = now;
      }
      deal_->counters->served_again.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    // Another host was dealt this piece (asked before the window reached this host, a piece
    // it lost with a lapsed lease, or one just sent again): hide it, reject the request.
    send_dont_have(piece);
    if (tail_) hidden_.push_back(piece);
    wire::send(pc_, wire::reject,
               std::array<std::uint32_t, 3>{static_cast<std::uint32_t>(piece),
                                            static_cast<std::uint32_t>(r.start),
                                            static_cast<std::uint32_t>(r.length)});
    deal_->counters->redirected.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  void sent_piece(const lt::peer_request& r) override {
    const int piece = static_cast<int>(r.piece);
    if (piece < 0 || piece >= deal_->pieces()) return;
    auto& s = deal_->at(piece);
    if (s.owner == host_ && ++s.blocks_sent == deal_->blocks_in(piece)) s.sent_at = clock::now();
  }

  // The piece is in the swarm (this host has it): another host may now be sent it too.
  bool on_have(lt::piece_index_t index) override {
    const int piece = static_cast<int>(index);
    if (piece < 0 || piece >= deal_->pieces()) return false;
    auto& s = deal_->at(piece);
    s.heard_at = clock::now();
    if (s.out_at == clock::time_point{}) s.out_at = s.heard_at;
    return false;
  }

  // Once a second: replace window pieces the host got elsewhere or lost to a lapsed lease.
  // In the tail: show again what was hidden, every tail_repeat, or at once when this host is
  // the only one still fetching.
  void tick() override {
    const auto now = clock::now();
    if (masked_ && !tail_) top_up(now);
    if (tail_ && !hidden_.empty() && (now - revealed_at_ >= tail_repeat || deal_->alone(host_))) {
      revealed_at_ = now;
      for (int piece : std::exchange(hidden_, {}))
        if (!pc_.has_piece(lt::piece_index_t(piece))) send_have(piece);
    }
  }

  void on_disconnect(const lt::error_code&) override {
    deal_->hosts.erase(host_);
    // Everything this host was dealt goes back to the deal, also what it got in full: nobody
    // can fetch it from this host any more, and a host that lacks it would otherwise not see
    // it at the origin until the tail (a proxy streaming the layer waits on the first piece).
    // Hosts that already have a piece are not dealt it again.
    bool released = false;
    for (int piece = 0; piece < deal_->pieces(); ++piece) {
      if (deal_->at(piece).owner == host_) {
        deal_->at(piece) = piece_state{};
        deal_->fresh.push_back(piece);
        deal_->counters->released.fetch_add(1, std::memory_order_relaxed);
        released = true;
      }
    }
    if (released) std::sort(deal_->fresh.begin(), deal_->fresh.end(), std::greater<>());
  }

 private:
  // The host saw "have all" from libtorrent: hide everything but its window, or nothing when
  // every piece has been dealt already (the tail: a host that comes late).
  void mask() {
    masked_ = true;
    top_up(clock::now());
    if (tail_) return;
    for (int piece = 0; piece < deal_->pieces(); ++piece) {
      if (std::find(window_.begin(), window_.end(), piece) == window_.end()) send_dont_have(piece);
    }
  }

  // Keeps a window of pieces dealt to this host and shown to it; shows it everything once
  // nothing is left to deal.
  void top_up(clock::time_point now) {
    std::erase_if(window_, [&](int piece) {
      return deal_->at(piece).owner != host_ || deal_->asked_in_full(piece) ||
             pc_.has_piece(lt::piece_index_t(piece));
    });
    const int hosts = static_cast<int>(deal_->hosts.size());
    const int window = std::clamp(deal_->pieces() / (2 * std::max(1, hosts)), 1, max_window);
    while (static_cast<int>(window_.size()) < window) {
      const int piece = deal_->deal_fresh(
          host_, now, [this](int p) { return !pc_.has_piece(lt::piece_index_t(p)); });
      if (piece < 0) break;
      window_.push_back(piece);
      send_have(piece);
    }
    if (!window_.empty()) return;
    tail_ = true;
    revealed_at_ = now;
    deal_->counters->unmasked.fetch_add(1, std::memory_order_relaxed);
    for (int piece = 0; piece < deal_->pieces(); ++piece) {
      if (!pc_.has_piece(lt::piece_index_t(piece))) send_have(piece);
    }
  }

  void send_have(int piece) {
    wire::send(pc_, wire::have, std::array<std::uint32_t, 1>{static_cast<std::uint32_t>(piece)});
  }

  void send_dont_have(int piece) {
    std::array<char, 10> msg{};
    wire::put32(msg.data(), 6);
    msg[4] = static_cast<char>(wire::extended);
    msg[5] = static_cast<char>(dont_have_id_);
    wire::put32(msg.data() + 6, static_cast<std::uint32_t>(piece));
    pc_.send_buffer(msg.data(), static_cast<int>(msg.size()));
  }

  std::shared_ptr<deal> deal_;
  lt::peer_connection_handle pc_;
  std::uint32_t host_;
  std::uint8_t dont_have_id_ = 0;  ///< the host's id for BEP 54's DONT_HAVE
  bool masked_ = false;            ///< the host sees only its window
  bool tail_ = false;              ///< nothing left to deal: the host sees every piece
  std::vector<int> window_;        ///< pieces dealt to and shown to this host
  std::vector<int> hidden_;        ///< in the tail: pieces hidden from it since revealed_at_
  clock::time_point revealed_at_;
};

}  // namespace

std::function<std::shared_ptr<lt::torrent_plugin>(const lt::torrent_handle&, lt::client_data_t)>
piece_dealer(int pieces, int piece_length, std::int64_t total_size,
             std::shared_ptr<dealer_counters> counters) {
  return [=](const lt::torrent_handle&, lt::client_data_t) -> std::shared_ptr<lt::torrent_plugin> {
    return std::make_shared<per_connection<dealer_peer, deal>>(
        std::make_shared<deal>(pieces, piece_length, total_size, counters));
  };
}

}  // namespace rookery::p2p
