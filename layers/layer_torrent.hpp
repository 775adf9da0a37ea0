// Deterministic BitTorrent metainfo for one blob: the same blob gives the same info-hash on
// every machine. The info dictionary holds only the file name (the digest's hex), its length,
// the piece length (a fixed rule of the size) and the piece hashes: no creation date, no
// creator. Trackers and web seeds live outside the info dictionary, so they may differ per site.
#pragma once

#include <cstdint>
#include <libtorrent/sha1_hash.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "layers/digest.hpp"

namespace rookery::layers {

/// The piece length for a blob of `size` bytes: the smallest power of two that keeps the piece
/// count at or under 512, and within [64 KiB, 4 MiB]. (Small pieces relay fast: on the testbed,
/// 16 hosts took 1.48x the link limit with 64 KiB pieces against 1.64x with 128 KiB; 32 KiB
/// measured the same as 64.)
int piece_length_for(std::uint64_t size);

/// A torrent's v1 info-hash (20 bytes; its bytes are what trackers and peers use).
using info_hash = lt::sha1_hash;

/// Lowercase hex of any bytes (40 characters for an info-hash).
std::string to_hex(std::string_view bytes);
inline std::string to_hex(const info_hash& h) { return to_hex(std::string_view(h.data(), h.size())); }

/// What a site adds to the torrents it makes, beyond the blob itself.
struct torrent_extras {
  std::vector<std::string> web_seeds;
  /// PEM of the fleet CA, or empty. When set, the torrent is an SSL torrent: only peers with
  /// a certificate this CA signed can join. It is part of the info dictionary, so the
  /// info-hash is the same on every host of one fleet and differs between fleets.
  std::string root_cert;
};

struct layer_torrent {
  std::string metainfo;   ///< the bencoded .torrent file
  layers::info_hash info_hash;  ///< v1
  int piece_length = 0;
  int piece_count = 0;
};

/// SHA-1 of each piece of a blob of known size, fed in order as the bytes stream past (e.g.
/// while a blob is fetched), so a torrent is made without reading the blob again.
class piece_hasher {
 public:
  explicit piece_hasher(std::uint64_t size);
  ~piece_hasher();
  piece_hasher(piece_hasher&&) noexcept;
  void update(const void* data, std::size_t size);
  /// True once exactly `size` bytes were fed.
  bool complete() const noexcept;

 private:
  friend std::optional<layer_torrent> build_layer_torrent(const digest&, piece_hasher&&,
                                                          const std::vector<std::string>&,
                                                          const torrent_extras&, std::error_code&);
  struct state;
  std::unique_ptr<state> state_;
};

/// The torrent for blob `d` from a complete piece_hasher (size_invalid otherwise). The caller
/// has verified the content digest.
std::optional<layer_torrent> build_layer_torrent(const digest& d, piece_hasher&& pieces,
                                                 const std::vector<std::string>& trackers,
                                                 const torrent_extras& extras, std::error_code& ec);

/// Reads the blob of `size` bytes in `fd` once, computing the SHA-1 of every piece and the
/// blob's SHA-256 (or SHA-512) in the same pass. Fails with errc::digest_invalid when the
/// content is not `d`, errc::size_invalid for an empty blob (no torrent can describe it) and
/// errc::store_failure on read errors.
std::optional<layer_torrent> make_layer_torrent(int fd, std::uint64_t size, const digest& d,
                                                const std::vector<std::string>& trackers,
                                                const torrent_extras& extras, std::error_code& ec);

/// The v1 info-hash of a bencoded .torrent, or nullopt when it does not parse.
std::optional<info_hash> info_hash_of(const std::string& metainfo);

}  // namespace rookery::layers
