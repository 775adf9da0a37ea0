// What rookery's libtorrent extensions share: the few BitTorrent messages they write themselves,
// and a torrent plugin that gives each BitTorrent connection a peer plugin over one shared state.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <libtorrent/extensions.hpp>
#include <libtorrent/peer_connection_handle.hpp>
#include <memory>
#include <utility>

namespace rookery::p2p::wire {

constexpr int block_size = 16 * 1024;  // what every BitTorrent client requests
// Message ids (BEP 3, BEP 6, BEP 10).
constexpr std::uint8_t have = 4, request = 6, reject = 16, extended = 20;

inline void put32(char* out, std::uint32_t v) {
  out[0] = static_cast<char>(v >> 24);
  out[1] = static_cast<char>(v >> 16);
  out[2] = static_cast<char>(v >> 8);
  out[3] = static_cast<char>(v);
}

/// Sends message `id` with `fields` (each 32 bits, big-endian) on `pc`.
template <std::size_t N>
void send(lt::peer_connection_handle& pc, std::uint8_t id,
          const std::array<std::uint32_t, N>& fields) {
  std::array<char, 5 + 4 * N> msg{};
  put32(msg.data(), 1 + 4 * N);
  msg[4] = static_cast<char>(id);
  for (std::size_t i = 0; i < N; ++i) put32(msg.data() + 5 + 4 * i, fields[i]);
  pc.send_buffer(msg.data(), static_cast<int>(msg.size()));
}

}  // namespace rookery::p2p::wire

namespace rookery::p2p {

/// A torrent plugin whose BitTorrent connections each get a `Peer(state, connection)`, all over
/// the torrent's one `State` (libtorrent's network thread only).
template <class Peer, class State>
class per_connection final : public lt::torrent_plugin {
 public:
  explicit per_connection(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<lt::peer_plugin> new_connection(const lt::peer_connection_handle& pc) override {
    if (pc.type() != lt::connection_type::bittorrent) return nullptr;
    return std::make_shared<Peer>(state_, pc);
  }

 private:
  std::shared_ptr<State> state_;
};

}  // namespace rookery::p2p
