// Bencoded metainfo as a proxy receives it from the seeder: parsed by libtorrent, its info-hash
// taken, and checked as p2p::session::add checks it before joining the swarm (one file, named
// by the blob digest's hex, not empty, the fleet CA). No session is created: parsing only.
#include <cstddef>
#include <cstdint>
#include <libtorrent/torrent_info.hpp>
#include <string>

#include "layers/digest.hpp"
#include "layers/layer_torrent.hpp"
#include "tests/fuzz/check.hpp"

using namespace rookery;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string metainfo(reinterpret_cast<const char*>(data), size);
  const auto hash = layers::info_hash_of(metainfo);
  lt::error_code ec;
  lt::torrent_info ti(metainfo.data(), static_cast<int>(metainfo.size()), ec);
  FUZZ_CHECK(hash.has_value() == !ec);
  if (ec) return 0;
  FUZZ_CHECK(*hash == ti.info_hashes().v1);
  const auto d = layers::digest::from_file_name(ti.name());
  const bool acceptable = ti.num_files() == 1 && d && ti.name() == d->hex() && ti.total_size() > 0;
  if (acceptable) {
    FUZZ_CHECK(ti.files().file_size(lt::file_index_t{0}) == ti.total_size());
    const std::string ca(ti.ssl_cert());
    (void)layers::to_hex(*hash);
    ti.set_web_seeds({});
  }
  return 0;
}
