#include "layers/layer_torrent.hpp"

#include <unistd.h>

#include <libtorrent/bencode.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/hasher.hpp>
#include <libtorrent/torrent_info.hpp>

#include "layers/error.hpp"

namespace rookery::layers {

int piece_length_for(std::uint64_t size) {
  constexpr std::uint64_t min_piece = 128 * 1024, max_piece = 4 * 1024 * 1024, max_pieces = 512;
  std::uint64_t piece = min_piece;
  while (piece < max_piece && piece * max_pieces < size) piece *= 2;
  return static_cast<int>(piece);
}

std::optional<layer_torrent> make_layer_torrent(int fd, std::uint64_t size, const digest& d,
                                                const std::vector<std::string>& trackers,
                                                const std::vector<std::string>& web_seeds,
                                                std::error_code& ec) {
  if (size == 0) {
    ec = errc::size_invalid;
    return std::nullopt;
  }
  lt::file_storage files;
  files.add_file(d.hex(), static_cast<std::int64_t>(size));
  const int piece_length = piece_length_for(size);
  lt::create_torrent ct(files, piece_length, lt::create_torrent::v1_only);
  ct.set_creation_date(0);

  // One pass: each piece feeds both its SHA-1 and the whole blob's content digest.
  hasher content(d.algorithm());
  std::vector<char> buffer(static_cast<std::size_t>(piece_length));
  std::uint64_t offset = 0;
  for (lt::piece_index_t piece(0); offset < size; ++piece) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(piece_length, size - offset));
    std::size_t got = 0;
    while (got < want) {
      const ssize_t n = ::pread(fd, buffer.data() + got, want - got, static_cast<off_t>(offset + got));
      if (n <= 0) {
        ec = errc::store_failure;
        return std::nullopt;
      }
      got += static_cast<std::size_t>(n);
    }
    content.update(buffer.data(), want);
    ct.set_hash(piece, lt::hasher(buffer.data(), static_cast<int>(want)).final());
    offset += want;
  }
  if (content.finish() != d) {
    ec = errc::digest_invalid;
    return std::nullopt;
  }
  for (const auto& t : trackers) ct.add_tracker(t);
  for (const auto& w : web_seeds) ct.add_url_seed(w);

  layer_torrent out;
  lt::bencode(std::back_inserter(out.metainfo), ct.generate());
  out.piece_length = piece_length;
  out.piece_count = ct.num_pieces();
  out.info_hash = info_hash_of(out.metainfo).value_or("");
  ec.clear();
  return out;
}

std::optional<std::string> info_hash_of(const std::string& metainfo) {
  lt::error_code ec;
  lt::torrent_info info(metainfo.data(), static_cast<int>(metainfo.size()), ec);
  if (ec) return std::nullopt;
  static constexpr char digits[] = "0123456789abcdef";
  const auto& hash = info.info_hashes().v1;
  std::string hex;
  for (const auto byte : hash) {
    hex += digits[byte >> 4];
    hex += digits[byte & 15];
  }
  return hex;
}

}  // namespace rookery::layers
