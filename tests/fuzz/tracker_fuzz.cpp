// Announces to the seeder's tracker: each line of the input is the query string of one
// `GET /announce?...` from the same address, 7 seconds after the previous one, on a tracker
// that serves one torrent whose info-hash is the 20 bytes "rookery-fuzz-tracker". Its peer
// limits are small so that eviction and numwant clamping are reachable.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <libtorrent/bdecode.hpp>
#include <string>
#include <string_view>

#include "seeder/tracker.hpp"
#include "tests/fuzz/check.hpp"

using namespace rookery;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  static const layers::info_hash hash("rookery-fuzz-tracker");
  static const auto from = boost::asio::ip::make_address("192.0.2.7");
  seeder::tracker_options opts;
  opts.max_peers_per_torrent = 4;
  opts.max_numwant = 3;
  seeder::tracker t(opts);
  t.allow(hash);
  auto now = seeder::tracker::clock::time_point{} + std::chrono::hours(1);
  for (int announces = 0; announces < 64; ++announces) {
    const auto newline = input.find('\n');
    const std::string answer = t.announce(input.substr(0, newline), from, now);
    lt::error_code ec;
    const lt::bdecode_node node = lt::bdecode(answer, ec);
    FUZZ_CHECK(!ec && node.type() == lt::bdecode_node::dict_t);
    if (const auto peers = node.dict_find_string_value("peers"); !peers.empty())
      FUZZ_CHECK(peers.size() % 6 == 0 && peers.size() <= 6 * opts.max_numwant);
    FUZZ_CHECK(t.peer_count() <= opts.max_peers_per_torrent);
    if (newline == std::string_view::npos) break;
    input.remove_prefix(newline + 1);
    now += std::chrono::seconds(7);
  }
  return 0;
}
