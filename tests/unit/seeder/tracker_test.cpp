#include "seeder/tracker.hpp"

#include <catch2/catch.hpp>

using boost::asio::ip::make_address;
using rookery::seeder::tracker;
using rookery::seeder::tracker_options;

namespace {

const rookery::layers::info_hash hash_a(std::string(20, 'A').c_str());
const std::string encoded_a = "AAAAAAAAAAAAAAAAAAAA";

std::string peer_id(char c) {
  return std::string(20, c);
}

std::string query(const std::string& id, int port, long left = 100, const std::string& extra = "") {
  return "info_hash=" + encoded_a + "&peer_id=" + id + "&port=" + std::to_string(port) +
         "&uploaded=0&downloaded=0&left=" + std::to_string(left) + "&compact=1" + extra;
}

// The compact peers string of a bencoded answer.
std::string peers_of(const std::string& answer) {
  const auto at = answer.find("5:peers");
  REQUIRE(at != std::string::npos);
  const auto colon = answer.find(':', at + 7);
  const auto length = std::stoul(answer.substr(at + 7, colon - at - 7));
  return answer.substr(colon + 1, length);
}

}  // namespace

TEST_CASE("tracker refuses unknown torrents", "[tracker]") {
  tracker t;
  auto answer = t.announce(query(peer_id('a'), 6881), make_address("10.1.2.3"));
  CHECK(answer.find("failure reason") != std::string::npos);
  CHECK(answer.find("unknown torrent") != std::string::npos);
}

TEST_CASE("tracker returns other peers in compact form", "[tracker]") {
  tracker t;
  t.allow(hash_a);
  t.announce(query(peer_id('a'), 6881), make_address("198.18.0.1"));
  auto answer = t.announce(query(peer_id('b'), 6882), make_address("198.18.0.2"));
  CHECK(answer.find("8:intervali15e") != std::string::npos);
  CHECK(peers_of(answer) == std::string("\xc6\x12\x00\x01\x1a\xe1", 6));  // 198.18.0.1:6881
  CHECK(t.peer_count() == 2);
}

TEST_CASE("tracker does not return a peer to itself", "[tracker]") {
  tracker t;
  t.allow(hash_a);
  auto answer = t.announce(query(peer_id('a'), 6881), make_address("198.18.0.1"));
  CHECK(peers_of(answer).empty());
}

TEST_CASE("tracker does not return a peer its own address under another id", "[tracker]") {
  tracker t;
  t.allow(hash_a);
  t.announce(query(peer_id('a'), 6881), make_address("198.18.0.1"));
  // The same host and port with a new peer id (a restarted torrent): not a peer of itself.
  CHECK(peers_of(t.announce(query(peer_id('b'), 6881), make_address("198.18.0.1"))).empty());
  // Another port on the same address is another host (hosts behind one address).
  CHECK(peers_of(t.announce(query(peer_id('c'), 6882), make_address("198.18.0.1"))).size() == 12);
}

TEST_CASE("tracker gives seeds only downloaders", "[tracker]") {
  tracker t;
  t.allow(hash_a);
  t.announce(query(peer_id('s'), 7000, 0), make_address("198.18.0.9"));
  auto answer = t.announce(query(peer_id('t'), 7001, 0), make_address("198.18.0.8"));
  CHECK(peers_of(answer).empty());
  CHECK(answer.find("8:completei2e") != std::string::npos);
}

TEST_CASE("tracker forgets a stopped peer", "[tracker]") {
  tracker t;
  t.allow(hash_a);
  t.announce(query(peer_id('a'), 6881), make_address("198.18.0.1"));
  t.announce(query(peer_id('a'), 6881, 100, "&event=stopped"), make_address("198.18.0.1"));
  CHECK(t.peer_count() == 0);
}

TEST_CASE("tracker expires peers that stop announcing", "[tracker]") {
  tracker t(tracker_options{std::chrono::seconds(10), std::chrono::seconds(5), 100, 50, 16});
  t.allow(hash_a);
  const auto start = tracker::clock::now();
  t.announce(query(peer_id('a'), 6881), make_address("198.18.0.1"), start);
  auto answer = t.announce(query(peer_id('b'), 6882), make_address("198.18.0.2"),
                           start + std::chrono::seconds(31));
  CHECK(peers_of(answer).empty());
  CHECK(t.peer_count() == 1);
}

TEST_CASE("tracker bounds the peers it keeps per torrent", "[tracker]") {
  tracker t(tracker_options{std::chrono::seconds(15), std::chrono::seconds(5), 3, 50, 16});
  t.allow(hash_a);
  for (char c = 'a'; c < 'h'; ++c)
    t.announce(query(peer_id(c), 7000 + c), make_address("198.18.0.1"));
  CHECK(t.peer_count() == 3);
}

TEST_CASE("tracker rejects malformed announces", "[tracker]") {
  tracker t;
  t.allow(hash_a);
  CHECK(
      t.announce("info_hash=short&peer_id=" + peer_id('a') + "&port=1", make_address("198.18.0.1"))
          .find("info_hash must be 20 bytes") != std::string::npos);
  CHECK(t.announce(query(peer_id('a'), 0), make_address("198.18.0.1")).find("port out of range") !=
        std::string::npos);
  CHECK(t.announce(query(peer_id('a'), 70000), make_address("198.18.0.1"))
            .find("port out of range") != std::string::npos);
  CHECK(t.announce("info_hash=%zz", make_address("198.18.0.1")).find("malformed info_hash") !=
        std::string::npos);
  CHECK(t.announce("", make_address("198.18.0.1")).find("failure reason") != std::string::npos);
}

TEST_CASE("tracker decodes percent-encoded binary info-hashes", "[tracker]") {
  tracker t;
  t.allow(rookery::layers::info_hash(std::string(20, '\xff').c_str()));
  std::string q = "info_hash=";
  for (int i = 0; i < 20; ++i) q += "%FF";
  q += "&peer_id=" + peer_id('a') + "&port=6881&left=5";
  CHECK(t.announce(q, make_address("198.18.0.1")).find("failure") == std::string::npos);
}

TEST_CASE("tracker bounds the peer ids one address holds per torrent", "[tracker]") {
  tracker t(tracker_options{std::chrono::seconds(15), std::chrono::seconds(5), 100, 50, 2});
  t.allow(hash_a);
  const auto start = tracker::clock::now();
  t.announce(query(peer_id('r'), 6881), make_address("198.18.0.7"), start);
  // One address floods peer ids: it keeps two, the newest, and the real peer stays.
  for (char c = 'a'; c < 'k'; ++c)
    t.announce(query(peer_id(c), 7000 + c), make_address("198.18.0.1"),
               start + std::chrono::seconds(c - 'a' + 1));
  CHECK(t.peer_count() == 3);
  const auto answer = t.announce(query(peer_id('z'), 9000), make_address("198.18.0.9"),
                                 start + std::chrono::seconds(20));
  const auto peers = peers_of(answer);
  REQUIRE(peers.size() == 3 * 6);
  CHECK(peers.find(std::string("\xc6\x12\x00\x07\x1a\xe1", 6)) != std::string::npos);
  // The flood's newest id ('j', port 7106 = 0x1bc2) is one of the two it kept.
  CHECK(peers.find(std::string("\xc6\x12\x00\x01\x1b\xc2", 6)) != std::string::npos);
}

TEST_CASE("tracker lets a restarted host replace its old peer id", "[tracker]") {
  tracker t(tracker_options{std::chrono::seconds(15), std::chrono::seconds(5), 100, 50, 1});
  t.allow(hash_a);
  const auto start = tracker::clock::now();
  t.announce(query(peer_id('a'), 6881), make_address("198.18.0.1"), start);
  t.announce(query(peer_id('b'), 6881), make_address("198.18.0.2"), start);
  t.announce(query(peer_id('c'), 6881), make_address("198.18.0.1"),
             start + std::chrono::seconds(1));
  CHECK(t.peer_count() == 2);
  const auto peers = peers_of(t.announce(query(peer_id('b'), 6881), make_address("198.18.0.2"),
                                         start + std::chrono::seconds(2)));
  CHECK(peers.size() == 6);
}

TEST_CASE("tracker per-torrent bound drops the longest-silent peer of any address", "[tracker]") {
  tracker t(tracker_options{std::chrono::seconds(15), std::chrono::seconds(5), 2, 50, 16});
  t.allow(hash_a);
  const auto start = tracker::clock::now();
  t.announce(query(peer_id('a'), 6881), make_address("198.18.0.1"), start);
  t.announce(query(peer_id('b'), 6882), make_address("198.18.0.2"),
             start + std::chrono::seconds(1));
  t.announce(query(peer_id('c'), 6883), make_address("198.18.0.3"),
             start + std::chrono::seconds(2));
  CHECK(t.peer_count() == 2);
  const auto peers = peers_of(t.announce(query(peer_id('c'), 6883), make_address("198.18.0.3"),
                                         start + std::chrono::seconds(3)));
  CHECK(peers == std::string("\xc6\x12\x00\x02\x1a\xe2", 6));  // 198.18.0.2:6882
}
