#include "p2p/second_requests.hpp"

#include <array>
#include <libtorrent/peer_connection_handle.hpp>
#include <libtorrent/peer_request.hpp>
#include <unordered_map>
#include <utility>
#include <vector>

#include "p2p/wire.hpp"

namespace rookery::p2p {
namespace {

using clock = std::chrono::steady_clock;

std::uint64_t block_key(const lt::peer_request& r) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(static_cast<int>(r.piece))) << 32) |
         static_cast<std::uint32_t>(r.start);
}

struct held_block {
  int requests = 0;      ///< second requests held for it
  bool arrived = false;  ///< it came meanwhile
};

struct first_request {
  std::uint32_t peer;    ///< the peer asked for the block first
  clock::time_point at;  ///< when
};

// One torrent's requests on the wire, shared by its peer plugins (libtorrent's network thread).
struct requests {
  std::unordered_map<std::uint64_t, first_request> asked;  ///< blocks on their way
  std::unordered_map<std::uint64_t, held_block> held;      ///< blocks with second requests held
  std::uint32_t next_peer = 1;
  std::chrono::milliseconds wait;
  std::shared_ptr<second_request_counters> counters;

  // A held request for `key` was sent or dropped.
  void release(std::uint64_t key) {
    const auto it = held.find(key);
    if (it != held.end() && --it->second.requests == 0) held.erase(it);
  }
};

class holding_peer final : public lt::peer_plugin {
 public:
  holding_peer(std::shared_ptr<requests> rq, lt::peer_connection_handle pc)
      : rq_(std::move(rq)), pc_(std::move(pc)), id_(rq_->next_peer++) {}

  ~holding_peer() override {
    std::erase_if(rq_->asked, [&](const auto& a) { return a.second.peer == id_; });
    for (const auto& h : held_) rq_->release(block_key(h.r));
  }

  bool write_request(const lt::peer_request& r) override {
    if (r.length > wire::block_size) return false;  // merged blocks: not libtorrent's end game
    const auto key = block_key(r);
    const auto now = clock::now();
    const auto it = rq_->asked.find(key);
    if (it != rq_->asked.end() && it->second.peer != id_) {
      // Another peer was asked first (libtorrent's end game): wait until that request has been
      // out for `wait`. One out longer than that goes out again at once.
      if (now - it->second.at < rq_->wait) {
        held_.push_back({r, it->second.at + rq_->wait});
        ++rq_->held[key].requests;
        rq_->counters->held.fetch_add(1, std::memory_order_relaxed);
        return true;
      }
      return false;
    }
    rq_->asked[key] = {id_, now};
    // Asked again: the piece failed its check.
    if (const auto h = rq_->held.find(key); h != rq_->held.end()) h->second.arrived = false;
    return false;
  }

  bool on_piece(const lt::peer_request& r, lt::span<char const>) override {
    const auto key = block_key(r);
    rq_->asked.erase(key);
    if (const auto h = rq_->held.find(key); h != rq_->held.end()) h->second.arrived = true;
    return false;
  }

  bool on_reject(const lt::peer_request& r) override {
    if (const auto it = rq_->asked.find(block_key(r));
        it != rq_->asked.end() && it->second.peer == id_)
      rq_->asked.erase(it);
    return false;
  }

  // Once a second: a held request whose block came meanwhile is dropped (libtorrent has
  // cancelled it by now: a CANCEL the peer ignores); one whose first request has been out for
  // `wait`, or was turned away, goes out.
  void tick() override {
    if (held_.empty()) return;
    const auto now = clock::now();
    std::vector<held_request> keep;
    for (const auto& h : held_) {
      const auto key = block_key(h.r);
      if (const auto b = rq_->held.find(key); b != rq_->held.end() && b->second.arrived) {
        rq_->counters->spared.fetch_add(1, std::memory_order_relaxed);
        rq_->release(key);
        continue;
      }
      const auto first = rq_->asked.find(key);
      if (first != rq_->asked.end() && now < h.until) {
        keep.push_back(h);
        continue;
      }
      if (first == rq_->asked.end()) rq_->asked[key] = {id_, now};
      rq_->release(key);
      rq_->counters->sent.fetch_add(1, std::memory_order_relaxed);
      wire::send(
          pc_, wire::request,
          std::array<std::uint32_t, 3>{static_cast<std::uint32_t>(static_cast<int>(h.r.piece)),
                                       static_cast<std::uint32_t>(h.r.start),
                                       static_cast<std::uint32_t>(h.r.length)});
    }
    held_ = std::move(keep);
  }

 private:
  struct held_request {
    lt::peer_request r;
    clock::time_point until;  ///< when it goes out if the block has not come
  };

  std::shared_ptr<requests> rq_;
  lt::peer_connection_handle pc_;
  std::uint32_t id_;
  std::vector<held_request> held_;
};

}  // namespace

std::function<std::shared_ptr<lt::torrent_plugin>(const lt::torrent_handle&, lt::client_data_t)>
second_requests_held(std::chrono::milliseconds wait,
                     std::shared_ptr<second_request_counters> counters) {
  return [=](const lt::torrent_handle&, lt::client_data_t) -> std::shared_ptr<lt::torrent_plugin> {
    auto rq = std::make_shared<requests>();
    rq->wait = wait;
    rq->counters = counters;
    return std::make_shared<per_connection<holding_peer, requests>>(std::move(rq));
  };
}

}  // namespace rookery::p2p
