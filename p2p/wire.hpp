// The few BitTorrent messages rookery's libtorrent extensions write themselves.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <libtorrent/peer_connection_handle.hpp>

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
