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
  constexpr std::uint64_t min_piece = 64 * 1024, max_piece = 4 * 1024 * 1024, max_pieces = 512;
  std::uint64_t piece = min_piece;
  while (piece < max_piece && piece * max_pieces < size) piece *= 2;
  return static_cast<int>(piece);
}

struct piece_hasher::state {
  std::uint64_t size;
  int piece_length;
  std::uint64_t fed = 0;
  lt::hasher current;
  int in_current = 0;
  std::vector<lt::sha1_hash> hashes;
};

piece_hasher::piece_hasher(std::uint64_t size)
    : state_(std::make_unique<state>(state{size, piece_length_for(size), 0, {}, 0, {}})) {
  state_->hashes.reserve(
      static_cast<std::size_t>(size / static_cast<std::uint64_t>(state_->piece_length) + 1));
}
piece_hasher::~piece_hasher() = default;
piece_hasher::piece_hasher(piece_hasher&&) noexcept = default;

void piece_hasher::update(const void* data, std::size_t size) {
  auto& st = *state_;
  const char* p = static_cast<const char*>(data);
  st.fed += size;
  while (size > 0) {
    const std::size_t room = static_cast<std::size_t>(st.piece_length - st.in_current);
    const std::size_t take = size < room ? size : room;
    st.current.update(p, static_cast<int>(take));
    st.in_current += static_cast<int>(take);
    p += take;
    size -= take;
    if (st.in_current == st.piece_length) {
      st.hashes.push_back(st.current.final());
      st.current.reset();
      st.in_current = 0;
    }
  }
}

bool piece_hasher::complete() const noexcept {
  return state_->fed == state_->size;
}

std::optional<layer_torrent> build_layer_torrent(const digest& d, piece_hasher&& pieces,
                                                 const std::vector<std::string>& trackers,
                                                 const torrent_extras& extras,
                                                 std::error_code& ec) {
  auto& st = *pieces.state_;
  if (st.size == 0 || !pieces.complete()) {
    ec = errc::size_invalid;
    return std::nullopt;
  }
  if (st.in_current > 0) {  // the short last piece
    st.hashes.push_back(st.current.final());
    st.in_current = 0;
  }
  lt::file_storage files;
  files.add_file(d.hex(), static_cast<std::int64_t>(st.size));
  lt::create_torrent ct(files, st.piece_length, lt::create_torrent::v1_only);
  ct.set_creation_date(0);
  if (static_cast<std::size_t>(ct.num_pieces()) != st.hashes.size()) {
    ec = errc::size_invalid;
    return std::nullopt;
  }
  for (int i = 0; i < ct.num_pieces(); ++i)
    ct.set_hash(lt::piece_index_t(i), st.hashes[static_cast<std::size_t>(i)]);
  for (const auto& t : trackers) ct.add_tracker(t);
  for (const auto& w : extras.web_seeds) ct.add_url_seed(w);
  if (!extras.root_cert.empty()) ct.set_root_cert(extras.root_cert);
  layer_torrent out;
  lt::bencode(std::back_inserter(out.metainfo), ct.generate());
  out.piece_length = st.piece_length;
  out.piece_count = ct.num_pieces();
  out.info_hash = info_hash_of(out.metainfo).value_or(info_hash{});
  ec.clear();
  return out;
}

std::optional<layer_torrent> make_layer_torrent(int fd, std::uint64_t size, const digest& d,
                                                const std::vector<std::string>& trackers,
                                                const torrent_extras& extras, std::error_code& ec) {
  if (size == 0) {
    ec = errc::size_invalid;
    return std::nullopt;
  }
  // One pass: each chunk feeds both the piece hashes and the whole blob's content digest.
  piece_hasher pieces(size);
  hasher content(d.algorithm());
  std::vector<char> buffer(1024 * 1024);
  for (std::uint64_t offset = 0; offset < size;) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - offset));
    const ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
    if (n <= 0) {
      ec = errc::store_failure;
      return std::nullopt;
    }
    content.update(buffer.data(), static_cast<std::size_t>(n));
    pieces.update(buffer.data(), static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  if (content.finish() != d) {
    ec = errc::digest_invalid;
    return std::nullopt;
  }
  return build_layer_torrent(d, std::move(pieces), trackers, extras, ec);
}

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (const unsigned char byte : bytes) {
    hex += digits[byte >> 4];
    hex += digits[byte & 15];
  }
  return hex;
}

std::optional<info_hash> info_hash_of(const std::string& metainfo) {
  lt::error_code ec;
  lt::torrent_info info(metainfo.data(), static_cast<int>(metainfo.size()), ec);
  if (ec) return std::nullopt;
  return info.info_hashes().v1;
}

}  // namespace rookery::layers
