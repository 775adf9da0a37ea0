#include "p2p/session.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/extensions.hpp>
#include <libtorrent/peer_connection_handle.hpp>
#include <libtorrent/peer_request.hpp>
#include <random>

#include "layers/error.hpp"
#include "layers/layer_torrent.hpp"
#include "p2p/wire.hpp"
#include "tests/unit/run_until.hpp"
#include "tests/unit/temp_dir.hpp"

using rookery::errc;
using rookery::layers::digest;
using rookery::layers::digest_of;
using rookery::p2p::disk_backend;
using rookery::p2p::parse_cidr;
using rookery::p2p::session;
using rookery::p2p::session_options;
namespace fs = std::filesystem;

namespace {

// ---- parse_cidr helpers -------------------------------------------------------

struct cidr {
  bool ok = false;
  std::string first, last;
};

cidr parse(const std::string& text) {
  lt::address first, last;
  cidr out;
  out.ok = parse_cidr(text, first, last);
  if (out.ok) {
    out.first = first.to_string();
    out.last = last.to_string();
  }
  return out;
}

void check_range(const std::string& text, const std::string& first, const std::string& last) {
  INFO(text);
  const auto r = parse(text);
  REQUIRE(r.ok);
  CHECK(r.first == first);
  CHECK(r.last == last);
}

// ---- session helpers ------------------------------------------------------------

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen());
  return s;
}

// A blob on disk (named by its digest's hex, as the session expects) and its torrent.
struct blob_on_disk {
  std::string content;
  digest d;
  std::string metainfo;

  blob_on_disk(const fs::path& dir, std::size_t size, unsigned seed,
               const std::string& root_cert = {})
      : content(random_bytes(size, seed)), d(digest_of(content)) {
    const fs::path file = dir / d.hex();
    std::ofstream(file, std::ios::binary) << content;
    const int fd = ::open(file.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    std::error_code ec;
    auto t = rookery::layers::make_layer_torrent(fd, content.size(), d, {}, {{}, root_cert}, ec);
    ::close(fd);
    REQUIRE(t);
    metainfo = t->metainfo;
  }
};

// A session on loopback, port 0, in its own temporary directory. Tear-down runs the
// io_context once more so the session's posted work and its ticker finish.
struct session_fixture {
  boost::asio::io_context io;
  const rookery::test::temp_dir scratch{"p2p"};
  const fs::path& dir = scratch.path;
  std::unique_ptr<session> s;

  session_fixture() {
    session_options opts;
    opts.listen = "127.0.0.1:0";
    s = std::make_unique<session>(io, opts);
  }
  ~session_fixture() {
    s.reset();
    io.restart();
    io.poll();
  }
  // Runs what the session posted (e.g. the second half of remove()).
  void settle() {
    io.restart();
    io.poll();
  }
};

}  // namespace

// ---- parse_cidr -----------------------------------------------------------------

TEST_CASE("parse_cidr: an IPv4 /8", "[p2p][cidr]") {
  check_range("10.0.0.0/8", "10.0.0.0", "10.255.255.255");
}

TEST_CASE("parse_cidr: IPv4 host bits are cleared", "[p2p][cidr]") {
  check_range("10.1.2.3/8", "10.0.0.0", "10.255.255.255");
}

TEST_CASE("parse_cidr: an IPv4 prefix not on a byte boundary", "[p2p][cidr]") {
  check_range("172.16.0.0/12", "172.16.0.0", "172.31.255.255");
}

TEST_CASE("parse_cidr: an IPv4 /32 is one address", "[p2p][cidr]") {
  check_range("192.168.1.7/32", "192.168.1.7", "192.168.1.7");
}

TEST_CASE("parse_cidr: an IPv4 /0 is everything", "[p2p][cidr]") {
  check_range("1.2.3.4/0", "0.0.0.0", "255.255.255.255");
}

TEST_CASE("parse_cidr: a bare IPv4 address is one address", "[p2p][cidr]") {
  check_range("172.16.5.4", "172.16.5.4", "172.16.5.4");
}

TEST_CASE("parse_cidr: an IPv4 /31", "[p2p][cidr]") {
  check_range("10.0.0.7/31", "10.0.0.6", "10.0.0.7");
}

TEST_CASE("parse_cidr: leading zeros in the bits are read as decimal", "[p2p][cidr]") {
  check_range("10.0.0.0/008", "10.0.0.0", "10.255.255.255");
}

TEST_CASE("parse_cidr: an IPv6 /8", "[p2p][cidr]") {
  check_range("fd00::/8", "fd00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

TEST_CASE("parse_cidr: an IPv6 /64 clears the interface id", "[p2p][cidr]") {
  check_range("2001:db8:1:2:3:4:5:6/64", "2001:db8:1:2::", "2001:db8:1:2:ffff:ffff:ffff:ffff");
}

TEST_CASE("parse_cidr: an IPv6 /0 is everything", "[p2p][cidr]") {
  check_range("::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

TEST_CASE("parse_cidr: an IPv6 /128 is one address", "[p2p][cidr]") {
  check_range("2001:db8::1/128", "2001:db8::1", "2001:db8::1");
}

TEST_CASE("parse_cidr: a bare IPv6 address is one address", "[p2p][cidr]") {
  check_range("::1", "::1", "::1");
}

TEST_CASE("parse_cidr: IPv6 accepts bits above 32", "[p2p][cidr]") {
  check_range("2001:db8::/48", "2001:db8::", "2001:db8:0:ffff:ffff:ffff:ffff:ffff");
}

TEST_CASE("parse_cidr rejects IPv4 bits above 32", "[p2p][cidr]") {
  CHECK_FALSE(parse("10.0.0.0/33").ok);
}

TEST_CASE("parse_cidr rejects IPv6 bits above 128", "[p2p][cidr]") {
  CHECK_FALSE(parse("2001:db8::/129").ok);
}

TEST_CASE("parse_cidr rejects empty bits", "[p2p][cidr]") {
  CHECK_FALSE(parse("10.0.0.0/").ok);
}

TEST_CASE("parse_cidr rejects negative bits", "[p2p][cidr]") {
  CHECK_FALSE(parse("10.0.0.0/-1").ok);
}

TEST_CASE("parse_cidr rejects a sign on the bits", "[p2p][cidr]") {
  CHECK_FALSE(parse("10.0.0.0/+8").ok);
}

TEST_CASE("parse_cidr rejects junk after the bits", "[p2p][cidr]") {
  CHECK_FALSE(parse("10.0.0.0/8x").ok);
  CHECK_FALSE(parse("10.0.0.0/8 ").ok);
}

TEST_CASE("parse_cidr rejects four-digit bits", "[p2p][cidr]") {
  CHECK_FALSE(parse("10.0.0.0/0008").ok);
}

TEST_CASE("parse_cidr rejects a second slash", "[p2p][cidr]") {
  CHECK_FALSE(parse("10.0.0.0/8/8").ok);
}

TEST_CASE("parse_cidr rejects a missing address", "[p2p][cidr]") {
  CHECK_FALSE(parse("/8").ok);
}

TEST_CASE("parse_cidr rejects a short IPv4 address", "[p2p][cidr]") {
  CHECK_FALSE(parse("10.0.0/8").ok);
}

TEST_CASE("parse_cidr rejects a host name", "[p2p][cidr]") {
  CHECK_FALSE(parse("localhost/8").ok);
}

TEST_CASE("parse_cidr rejects junk and the empty string", "[p2p][cidr]") {
  CHECK_FALSE(parse("junk").ok);
  CHECK_FALSE(parse("").ok);
}

TEST_CASE("parse_cidr leaves the outputs alone on failure", "[p2p][cidr]") {
  lt::address first = lt::make_address("1.1.1.1"), last = lt::make_address("2.2.2.2");
  CHECK_FALSE(parse_cidr("10.0.0.0/99", first, last));
  CHECK(first.to_string() == "1.1.1.1");
  CHECK(last.to_string() == "2.2.2.2");
}

// ---- session bookkeeping --------------------------------------------------------

TEST_CASE("session: a new session has no torrents", "[p2p][session]") {
  session_fixture f;
  CHECK(f.s->torrent_count() == 0);
  CHECK_FALSE(f.s->fleet());
  CHECK(f.s->find(digest_of("nothing")) == nullptr);
}

TEST_CASE("session: a session bound to port 0 listens on a chosen port", "[p2p][session]") {
  session_fixture f;
  CHECK(f.s->listen_port() > 0);
}

TEST_CASE("session: add seeds a complete blob and find returns it", "[p2p][session]") {
  session_fixture f;
  blob_on_disk blob(f.dir, 300 * 1024 + 5, 1);
  std::error_code ec;
  auto t = f.s->add(blob.d, blob.metainfo, f.dir, true, false, ec);
  REQUIRE(t);
  CHECK_FALSE(ec);
  CHECK(f.s->torrent_count() == 1);
  CHECK(f.s->find(blob.d) == t);
  CHECK(t->digest() == blob.d);
  CHECK(t->size() == blob.content.size());
  CHECK(t->piece_length() == 64 * 1024);
  CHECK(t->piece_count() == 5);
  CHECK(t->complete());
  CHECK(t->contiguous() == blob.content.size());
  CHECK(t->file() == f.dir / blob.d.hex());
  CHECK_FALSE(t->failed());
}

TEST_CASE("session: a torrent added without seeding starts empty", "[p2p][session]") {
  session_fixture f;
  blob_on_disk blob(f.dir, 1000, 2);
  const fs::path elsewhere = f.dir / "download";
  fs::create_directories(elsewhere);
  std::error_code ec;
  auto t = f.s->add(blob.d, blob.metainfo, elsewhere, false, false, ec);
  REQUIRE(t);
  CHECK_FALSE(t->complete());
  CHECK(t->contiguous() == 0);
  CHECK(t->piece_count() == 1);
}

TEST_CASE("session: adding the same blob twice returns the same torrent", "[p2p][session]") {
  session_fixture f;
  blob_on_disk blob(f.dir, 1000, 3);
  std::error_code ec;
  auto first = f.s->add(blob.d, blob.metainfo, f.dir, true, false, ec);
  REQUIRE(first);
  auto second = f.s->add(blob.d, blob.metainfo, f.dir, true, false, ec);
  CHECK(second == first);
  CHECK_FALSE(ec);
  CHECK(f.s->torrent_count() == 1);
}

TEST_CASE("session: two blobs are two torrents", "[p2p][session]") {
  session_fixture f;
  blob_on_disk a(f.dir, 1000, 4), b(f.dir, 2000, 5);
  std::error_code ec;
  REQUIRE(f.s->add(a.d, a.metainfo, f.dir, true, false, ec));
  REQUIRE(f.s->add(b.d, b.metainfo, f.dir, true, false, ec));
  CHECK(f.s->torrent_count() == 2);
  CHECK(f.s->find(a.d) != f.s->find(b.d));
  CHECK(f.s->all().size() == 2);
}

TEST_CASE("session: metainfo for another blob is refused", "[p2p][session]") {
  session_fixture f;
  blob_on_disk blob(f.dir, 1000, 6);
  const digest other = digest_of("some other blob");
  std::error_code ec;
  CHECK(f.s->add(other, blob.metainfo, f.dir, true, false, ec) == nullptr);
  CHECK(ec == errc::upstream_bad_response);
  CHECK(f.s->torrent_count() == 0);
  CHECK(f.s->find(other) == nullptr);
}

TEST_CASE("session: unparsable metainfo is refused", "[p2p][session]") {
  session_fixture f;
  const digest d = digest_of("x");
  std::error_code ec;
  CHECK(f.s->add(d, "d4:junke", f.dir, true, false, ec) == nullptr);
  CHECK(ec == errc::upstream_bad_response);
}

TEST_CASE("session: empty metainfo is refused", "[p2p][session]") {
  session_fixture f;
  const digest d = digest_of("x");
  std::error_code ec;
  CHECK(f.s->add(d, "", f.dir, true, false, ec) == nullptr);
  CHECK(ec == errc::upstream_bad_response);
}

TEST_CASE("session: a fleet torrent is refused by a host outside the fleet", "[p2p][session]") {
  session_fixture f;
  blob_on_disk blob(f.dir, 1000, 7,
                    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  std::error_code ec;
  CHECK(f.s->add(blob.d, blob.metainfo, f.dir, true, false, ec) == nullptr);
  CHECK(ec == errc::upstream_bad_response);
  CHECK(f.s->torrent_count() == 0);
}

TEST_CASE("session: remove forgets the torrent once the io_context runs", "[p2p][session]") {
  session_fixture f;
  blob_on_disk blob(f.dir, 1000, 8);
  std::error_code ec;
  auto t = f.s->add(blob.d, blob.metainfo, f.dir, true, false, ec);
  REQUIRE(t);
  f.s->remove(blob.d);
  f.settle();
  CHECK(f.s->find(blob.d) == nullptr);
  CHECK(f.s->torrent_count() == 0);
}

TEST_CASE("session: a removed torrent reports blob_unknown to its readers", "[p2p][session]") {
  session_fixture f;
  blob_on_disk blob(f.dir, 1000, 9);
  std::error_code ec;
  auto t = f.s->add(blob.d, blob.metainfo, f.dir, true, false, ec);
  REQUIRE(t);
  f.s->remove(blob.d);
  f.settle();
  CHECK(t->failed());
  CHECK(t->error() == errc::blob_unknown);
}

TEST_CASE("session: remove keeps the blob's file", "[p2p][session]") {
  session_fixture f;
  blob_on_disk blob(f.dir, 1000, 10);
  std::error_code ec;
  REQUIRE(f.s->add(blob.d, blob.metainfo, f.dir, true, false, ec));
  f.s->remove(blob.d);
  f.settle();
  CHECK(fs::file_size(f.dir / blob.d.hex()) == blob.content.size());
}

TEST_CASE("session: remove of an unknown blob is harmless", "[p2p][session]") {
  session_fixture f;
  blob_on_disk blob(f.dir, 1000, 11);
  std::error_code ec;
  auto t = f.s->add(blob.d, blob.metainfo, f.dir, true, false, ec);
  REQUIRE(t);
  f.s->remove(digest_of("not added"));
  f.settle();
  CHECK(f.s->find(blob.d) == t);
  CHECK_FALSE(t->failed());
}

TEST_CASE("session: remove leaves other torrents alone", "[p2p][session]") {
  session_fixture f;
  blob_on_disk a(f.dir, 1000, 12), b(f.dir, 1000, 13);
  std::error_code ec;
  REQUIRE(f.s->add(a.d, a.metainfo, f.dir, true, false, ec));
  auto tb = f.s->add(b.d, b.metainfo, f.dir, true, false, ec);
  REQUIRE(tb);
  f.s->remove(a.d);
  f.settle();
  CHECK(f.s->find(a.d) == nullptr);
  CHECK(f.s->find(b.d) == tb);
  CHECK(f.s->torrent_count() == 1);
}

TEST_CASE("session: a blob re-added right after remove is a new torrent", "[p2p][session]") {
  session_fixture f;
  blob_on_disk blob(f.dir, 1000, 14);
  std::error_code ec;
  auto old = f.s->add(blob.d, blob.metainfo, f.dir, true, false, ec);
  REQUIRE(old);
  f.s->remove(blob.d);  // the bookkeeping half is still queued on the io_context
  auto fresh = f.s->add(blob.d, blob.metainfo, f.dir, true, false, ec);
  REQUIRE(fresh);
  CHECK_FALSE(ec);
  CHECK(fresh != old);
  f.settle();  // the queued half must not drop the new torrent
  CHECK(f.s->find(blob.d) == fresh);
  CHECK_FALSE(fresh->failed());
}

TEST_CASE("session: stats of an unknown blob are zero", "[p2p][session]") {
  session_fixture f;
  const auto st = f.s->stats(digest_of("unknown"));
  CHECK(st.downloaded == 0);
  CHECK(st.uploaded == 0);
  CHECK(st.peers == 0);
  CHECK_FALSE(st.complete);
}

TEST_CASE("session: stats of a seeded blob say complete", "[p2p][session]") {
  session_fixture f;
  blob_on_disk blob(f.dir, 1000, 15);
  std::error_code ec;
  REQUIRE(f.s->add(blob.d, blob.metainfo, f.dir, true, false, ec));
  CHECK(f.s->stats(blob.d).complete);
  CHECK(f.s->totals().downloaded == 0);
}

namespace {

// The seeder's session as rookery-seeder sets it up (dealer on, every host unchoked), on loopback.
session_options dealing_origin() {
  session_options opts;
  opts.listen = "127.0.0.1:0";
  opts.seeder = opts.deal_pieces = true;
  opts.unchoke_slots = -1;
  return opts;
}

session_options loopback_host(disk_backend disk = disk_backend::pread) {
  session_options opts;
  opts.listen = "127.0.0.1:0";
  opts.disk = disk;
  return opts;
}

// A session on `io` that seeds `blob` from `dir`.
std::unique_ptr<session> seeding(boost::asio::io_context& io, const session_options& opts,
                                 const blob_on_disk& blob, const fs::path& dir) {
  auto s = std::make_unique<session>(io, opts);
  std::error_code ec;
  REQUIRE(s->add(blob.d, blob.metainfo, dir, true, false, ec));
  return s;
}

// Where a session on loopback listens.
lt::tcp::endpoint listening(const session& s) {
  return {lt::make_address("127.0.0.1"), static_cast<unsigned short>(s.listen_port())};
}

// `host` starts fetching the blob into `dir` (made here) from the one peer it is told of, all
// but the `unwanted` pieces.
std::shared_ptr<rookery::p2p::torrent> fetch_from(session& host, const blob_on_disk& blob,
                                                  const fs::path& dir,
                                                  const lt::tcp::endpoint& peer,
                                                  std::initializer_list<int> unwanted = {}) {
  fs::create_directories(dir);
  std::error_code ec;
  auto t = host.add(blob.d, blob.metainfo, dir, false, false, ec);
  REQUIRE(t);
  for (int piece : unwanted)
    t->handle().piece_priority(lt::piece_index_t(piece), lt::dont_download);
  t->handle().connect_peer(peer);
  return t;
}

std::string file_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("session: a finished download handed to the store keeps seeding without a recheck",
          "[p2p][session]") {
  // The proxy commits a blob the swarm delivered to its store, then points the torrent at the
  // store's copy. libtorrent must go on seeding it to the peers it has: moving its storage onto
  // an existing file would make it forget every piece, drop its peers and hash the whole blob
  // again before anyone could fetch a piece from this host. Both ways libtorrent can keep its
  // files (--bt-disk-io) must get this right: mmap holds the file it mapped, pread keeps the
  // file open, posix opens it by name for each block.
  const auto disk = GENERATE(disk_backend::pread, disk_backend::posix, disk_backend::mmap);
  CAPTURE(disk == disk_backend::pread ? "pread" : disk == disk_backend::posix ? "posix" : "mmap");
  boost::asio::io_context io;
  const rookery::test::temp_dir scratch{"adopt"};
  blob_on_disk blob(scratch.path, 1024 * 1024 + 3, 23);
  auto origin = seeding(io, loopback_host(disk), blob, scratch.path);
  auto host = std::make_unique<session>(io, loopback_host(disk));
  const fs::path downloads = scratch.path / "downloads", store = scratch.path / "store";
  fs::create_directories(store);
  auto t = fetch_from(*host, blob, downloads, listening(*origin));
  rookery::test::run_until(io, [&] { return t->complete(); });
  rookery::test::run_until(io, [&] { return t->handle().status().num_peers > 0; });
  fs::copy_file(downloads / blob.d.hex(), store / blob.d.hex());  // the store's verified copy

  host->adopt_storage(blob.d, store);
  bool rechecked = false, dropped = false;
  for (int i = 0; i < 20; ++i) {
    io.run_for(std::chrono::milliseconds(100));
    const auto st = t->handle().status();
    rechecked = rechecked || st.state != lt::torrent_status::seeding;
    dropped = dropped || st.num_peers == 0;
  }
  CHECK_FALSE(rechecked);
  CHECK_FALSE(dropped);
  CHECK(t->complete());
  // libtorrent now reads the store's file: its own copy is gone (no blob kept twice on disk).
  const fs::path own = downloads / blob.d.hex();
  CHECK((!fs::exists(own) || fs::equivalent(own, store / blob.d.hex())));
  // And serves it from there: a third host that knows only this one gets the blob.
  origin.reset();
  auto third = std::make_unique<session>(io, loopback_host(disk));
  auto t3 = fetch_from(*third, blob, scratch.path / "third", listening(*host));
  rookery::test::run_until(io, [&] { return t3->complete(); });
  CHECK(t3->complete());
  t3.reset();
  third.reset();
  host.reset();
  io.restart();
  io.poll();
  CHECK(file_text(scratch.path / "third" / blob.d.hex()) == blob.content);
}

namespace {

// A peer that holds every request for pieces 0 and 1 unanswered until `release`, then takes
// those pieces back (BEP 54's DONT_HAVE) and rejects the requests (BEP 6), as the origin's
// dealer turns a host away from a piece dealt to another.
struct holding {
  std::atomic<bool> release{false};
  std::atomic<int> held{0};  ///< requests held so far
  std::atomic<std::chrono::steady_clock::time_point> rejected_at{};
  std::atomic<bool> no_dont_have{false};  ///< the host does not take BEP 54's DONT_HAVE
};

class holding_peer final : public lt::peer_plugin {
 public:
  holding_peer(std::shared_ptr<holding> h, lt::peer_connection_handle pc)
      : holding_(std::move(h)), pc_(std::move(pc)) {}
  bool on_extension_handshake(const lt::bdecode_node& handshake) override {
    const auto m = handshake.dict_find_dict("m");
    dont_have_id_ = static_cast<int>(m ? m.dict_find_int_value("lt_donthave", 0) : 0);
    return true;
  }
  bool on_request(const lt::peer_request& r) override {
    if (r.piece != lt::piece_index_t(0) && r.piece != lt::piece_index_t(1)) return false;
    held_.push_back(r);
    ++holding_->held;
    if (holding_->release) tick();
    return true;
  }
  // Runs on libtorrent's thread: what the test thread checks goes through `holding`.
  void tick() override {
    if (!holding_->release || held_.empty()) return;
    if (dont_have_id_ == 0) holding_->no_dont_have = true;
    for (char piece : {0, 1}) send({20, static_cast<char>(dont_have_id_), 0, 0, 0, piece});
    for (const auto& r : held_) {
      std::string reject(1, '\x10');
      for (const int field : {static_cast<int>(r.piece), r.start, r.length})
        for (int shift : {24, 16, 8, 0}) reject += static_cast<char>(field >> shift);
      send(reject);
    }
    held_.clear();
    holding_->rejected_at = std::chrono::steady_clock::now();
  }

 private:
  void send(const std::string& message) {
    const auto n = static_cast<std::uint32_t>(message.size());
    std::string framed{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                       static_cast<char>(n >> 8), static_cast<char>(n)};
    framed += message;
    pc_.send_buffer(framed.data(), static_cast<int>(framed.size()));
  }

  std::shared_ptr<holding> holding_;
  lt::peer_connection_handle pc_;
  int dont_have_id_ = 0;
  std::vector<lt::peer_request> held_;
};

using holding_torrent = rookery::p2p::per_connection<holding_peer, holding>;

}  // namespace

TEST_CASE("session: pieces a peer turned away are asked of the other peers that have them",
          "[p2p][session]") {
  // libtorrent asks a peer for blocks only on an event on that peer's connection. Host H asks
  // peer R for pieces 0 and 1; R holds the requests, then rejects them (as the origin's dealer
  // does). Peer S has both pieces but sends H nothing more: without being asked again, H would
  // wait for ever. Piece 2 is nowhere (as pieces the dealer hides), so libtorrent does not
  // send duplicate requests for busy blocks (its end game) either.
  boost::asio::io_context io;
  const rookery::test::temp_dir scratch{"ask-again"};
  blob_on_disk blob(scratch.path, 4 * 64 * 1024 - 100, 24);
  std::vector<std::unique_ptr<session>> partial;  // R and S: every piece but 2
  {
    auto full = seeding(io, loopback_host(), blob, scratch.path);
    for (const char* name : {"r", "s"}) {
      partial.push_back(std::make_unique<session>(io, loopback_host()));
      auto t = fetch_from(*partial.back(), blob, scratch.path / name, listening(*full), {2});
      rookery::test::run_until(io, [&] {
        return t->has(lt::piece_index_t(0)) && t->has(lt::piece_index_t(1)) &&
               t->has(lt::piece_index_t(3));
      });
    }
  }
  auto shared = std::make_shared<holding>();
  lt::torrent_handle held_at = partial[0]->find(blob.d)->handle();
  held_at.add_extension([shared](const lt::torrent_handle&, lt::client_data_t) {
    return std::make_shared<holding_torrent>(shared);
  });
  // H first gets piece 3 from R (a piece it has is what the fix needs), then asks R for blocks
  // of 0 and 1.
  auto host = std::make_unique<session>(io, loopback_host());
  auto t = fetch_from(*host, blob, scratch.path / "h", listening(*partial[0]), {0, 1});
  rookery::test::run_until(io, [&] { return t->has(lt::piece_index_t(3)); });
  for (int piece : {0, 1})
    t->handle().piece_priority(lt::piece_index_t(piece), lt::default_priority);
  rookery::test::run_until(io, [&] { return shared->held > 0; });
  t->handle().connect_peer(listening(*partial[1]));
  // Past libtorrent's own retry (every 5 s, for a peer it could not ask for enough blocks).
  io.run_for(std::chrono::seconds(6));
  // The blocks held at R are not asked of S meanwhile (no duplicate requests).
  const bool lacked = !t->has(lt::piece_index_t(0)) || !t->has(lt::piece_index_t(1));
  REQUIRE(lacked);

  shared->release = true;
  const auto both = [&] { return t->has(lt::piece_index_t(0)) && t->has(lt::piece_index_t(1)); };
  for (int i = 0; i < 100 && !both(); ++i) io.run_for(std::chrono::milliseconds(50));
  CHECK_FALSE(shared->no_dont_have);
  REQUIRE(both());
  // Asked of S within a second or two of the reject; libtorrent alone asks on its next 5 s
  // retry (3-5 s later here) or, when it could ask for enough blocks last time, never.
  const auto waited = std::chrono::steady_clock::now() - shared->rejected_at.load();
  INFO(std::chrono::duration_cast<std::chrono::milliseconds>(waited).count() << " ms");
  CHECK(waited < std::chrono::milliseconds(2500));
  CHECK_FALSE(t->has(lt::piece_index_t(2)));
  t.reset();
  host.reset();
  partial.clear();
  io.restart();
  io.poll();
}

// ---- second requests in the end game ------------------------------------------------

namespace {

// A blob in a scratch directory, and the io_context the sessions of a test run on.
struct blob_and_io {
  boost::asio::io_context io;
  const rookery::test::temp_dir scratch;
  blob_on_disk blob;

  blob_and_io(const char* name, std::size_t size, unsigned seed)
      : scratch(name), blob(scratch.path, size, seed) {}
  // Runs what the sessions posted as they stopped.
  void drain() {
    io.restart();
    io.poll();
  }
};

// Host H, and peers R and S seeding the blob; H knows of neither yet and fetches into "h".
struct host_and_two_peers : blob_and_io {
  std::unique_ptr<session> r, s, host;

  host_and_two_peers(const char* name, std::size_t size, unsigned seed,
                     const session_options& r_opts, const session_options& host_opts)
      : blob_and_io(name, size, seed),
        r(seeding(io, r_opts, blob, scratch.path)),
        s(seeding(io, loopback_host(), blob, scratch.path)),
        host(std::make_unique<session>(io, host_opts)) {}
  // Stops the sessions (the test drops its torrent first); what H stored.
  std::string stop() {
    host.reset();
    s.reset();
    r.reset();
    drain();
    return file_text(scratch.path / "h" / blob.d.hex());
  }
};

}  // namespace

TEST_CASE("end game: a block on its way from a slow peer is not asked of another meanwhile",
          "[p2p][end_game]") {
  // Host H starts on the blob at peer R, which uploads at 32 KiB/s, then meets peer S, which is
  // fast. S soon has sent everything R was not asked for, and libtorrent asks S for R's blocks
  // too (its end game): they come twice, since R has them in its send buffer already. With
  // second requests held for longer than R takes, S is asked for nothing R is sending.
  // (On a connection with a request held libtorrent asks for no other busy block, so the
  // whole end game is at R's pace here; a swarm has many connections.)
  const bool hold = GENERATE(false, true);
  CAPTURE(hold);
  auto slow = loopback_host();
  slow.upload_rate_limit = 32 * 1024;
  auto opts = loopback_host();
  if (hold) opts.end_game_wait = std::chrono::seconds(20);
  host_and_two_peers net("end-game", 8 * 64 * 1024, 25, slow, opts);
  auto& io = net.io;
  auto t = fetch_from(*net.host, net.blob, net.scratch.path / "h", listening(*net.r));
  rookery::test::run_until(io, [&] { return t->verified_bytes() > 0; });  // about 2 s
  t->handle().connect_peer(listening(*net.s));
  // R has a few seconds' worth of blocks on their way; with them held, H waits for them.
  for (int i = 0; i < 300 && !t->complete(); ++i) io.run_for(std::chrono::milliseconds(50));
  REQUIRE(t->complete());
  io.run_for(std::chrono::seconds(3));  // what R had on its way comes in meanwhile
  const auto redundant = t->handle().status().total_redundant_bytes;
  const auto& seconds = net.host->second_requests();
  INFO("redundant " << redundant << ", held " << seconds.held << ", sent " << seconds.sent
                    << ", spared " << seconds.spared);
  if (hold) {
    CHECK(redundant == 0);
    CHECK(seconds.held > 0);  // the end game was reached
    CHECK(seconds.sent == 0);
    CHECK(seconds.spared == seconds.held);
  } else {
    CHECK(redundant > 0);  // what the extension spares: without it the test fails
    CHECK(seconds.held == 0);
  }
  t.reset();
  CHECK(net.stop() == net.blob.content);
}

TEST_CASE("end game: a held second request goes out when the first peer sends nothing",
          "[p2p][end_game]") {
  // Peer R takes H's requests for pieces 0 and 1 and never answers them (nor rejects them).
  // Peer S has every piece. H asks S for those blocks only in its end game, and holds those
  // second requests back until the first ones have been out for 3 s: then they go out and H
  // completes, long before libtorrent would give up on R (its piece timeout, 10 s).
  auto opts = loopback_host();
  opts.end_game_wait = std::chrono::seconds(3);
  host_and_two_peers net("end-game-send", 4 * 64 * 1024 - 100, 26, loopback_host(), opts);
  auto& io = net.io;
  auto shared = std::make_shared<holding>();
  lt::torrent_handle held_at = net.r->find(net.blob.d)->handle();
  held_at.add_extension([shared](const lt::torrent_handle&, lt::client_data_t) {
    return std::make_shared<holding_torrent>(shared);
  });
  auto t = fetch_from(*net.host, net.blob, net.scratch.path / "h", listening(*net.r));
  rookery::test::run_until(io, [&] { return shared->held > 0; });
  const auto met = std::chrono::steady_clock::now();
  t->handle().connect_peer(listening(*net.s));
  for (int i = 0; i < 200 && !t->complete(); ++i) io.run_for(std::chrono::milliseconds(50));
  REQUIRE(t->complete());
  const auto took = std::chrono::steady_clock::now() - met;
  INFO(std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(took < std::chrono::seconds(6));
  CHECK(net.host->second_requests().held > 0);
  CHECK(net.host->second_requests().sent > 0);
  CHECK(t->handle().status().total_redundant_bytes == 0);
  t.reset();
  CHECK(net.stop() == net.blob.content);
}

// ---- the origin's piece dealer ------------------------------------------------------

namespace {

// An origin dealing a blob and two hosts, A and B, that know of nothing yet.
struct origin_and_two_hosts : blob_and_io {
  std::unique_ptr<session> origin, host_a, host_b;

  origin_and_two_hosts(const char* name, std::size_t size, unsigned seed)
      : blob_and_io(name, size, seed),
        origin(seeding(io, dealing_origin(), blob, scratch.path)),
        host_a(std::make_unique<session>(io, loopback_host())),
        host_b(std::make_unique<session>(io, loopback_host())) {}
  // Stops the sessions (the test drops its torrents first) and runs what they posted.
  void stop() {
    host_b.reset();
    host_a.reset();
    origin.reset();
    drain();
  }
  std::string fetched(const char* dir) const {
    return file_text(scratch.path / dir / blob.d.hex());
  }
};

}  // namespace

TEST_CASE("dealer: a late host gets at once from the origin what it dealt to a finished one",
          "[p2p][dealer]") {
  // Host A fetches the blob, so the dealer hands A every piece. Host B comes later and knows
  // only the origin (no tracker, no peer exchange): with nobody else fetching the blob, the
  // origin shows B every piece and sends it every block it asks for, instead of turning it
  // away to a peer B cannot reach (the tail rule's wait would outlast a proxy's stall timer).
  origin_and_two_hosts net("dealer", 2 * 1024 * 1024 + 77, 21);
  auto& io = net.io;
  const auto fetch = [&](session& host, const char* name) {
    auto t = fetch_from(host, net.blob, net.scratch.path / name, listening(*net.origin));
    rookery::test::run_until(io, [&] { return t->complete(); });
  };

  fetch(*net.host_a, "a");
  rookery::test::run_until(io, [&] { return net.origin->stats(net.blob.d).seeds == 1; });
  const auto& dealing = net.origin->dealing();
  REQUIRE(dealing.dealt.load() > 0);
  const auto redirected_before = dealing.redirected.load();
  fetch(*net.host_b, "b");
  // Every block B asked for was sent (a rejected one would show), and it asked for them all.
  CHECK(dealing.redirected.load() == redirected_before);
  CHECK(dealing.served_again.load() >= 2 * 1024 * 1024 / (16 * 1024));
  net.stop();
  CHECK(net.fetched("b") == net.blob.content);
}

TEST_CASE("dealer: two hosts that cannot reach each other both get every piece", "[p2p][dealer]") {
  // Each host knows only the origin, and the dealer deals each piece to one of them. Once every
  // piece has been dealt, a piece one host has and has stopped passing on (it cannot: nothing
  // connects the two) leaves the origin a second time, so neither host is stranded.
  boost::asio::io_context io;
  const rookery::test::temp_dir scratch{"dealer2"};
  auto origin_opts = dealing_origin();
  origin_opts.upload_rate_limit = 1024 * 1024;  // both hosts join before all is dealt
  blob_on_disk blob(scratch.path, 2 * 1024 * 1024 + 11, 22);
  auto origin = seeding(io, origin_opts, blob, scratch.path);
  std::vector<std::unique_ptr<session>> hosts;
  hosts.push_back(std::make_unique<session>(io, loopback_host()));
  hosts.push_back(std::make_unique<session>(io, loopback_host()));
  std::vector<std::shared_ptr<rookery::p2p::torrent>> torrents;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    torrents.push_back(fetch_from(*hosts[i], blob, scratch.path / ("host" + std::to_string(i)),
                                  listening(*origin)));
  }
  const auto all_done = [&] {
    return std::all_of(torrents.begin(), torrents.end(), [](auto& t) { return t->complete(); });
  };
  // The tail rule waits for a piece to stop spreading (seconds), so allow well over that.
  for (int i = 0; i < 600 && !all_done(); ++i) io.run_for(std::chrono::milliseconds(100));
  CHECK(all_done());
  CHECK(origin->dealing().dealt.load() >= static_cast<std::uint64_t>(torrents[0]->piece_count()));
  // Each was turned away from the other's pieces at first, and got them from the origin later.
  CHECK(origin->dealing().redirected.load() > 0);
  CHECK(origin->dealing().served_again.load() > 0);
  torrents.clear();
  hosts.clear();
  origin.reset();
  io.restart();
  io.poll();
  for (int i = 0; i < 2; ++i) {
    CHECK(file_text(scratch.path / ("host" + std::to_string(i)) / blob.d.hex()) == blob.content);
  }
}

TEST_CASE("dealer: a host that holds its download back is dealt nothing until it lets go",
          "[p2p][dealer]") {
  // Host A joins the swarm held (a layer waiting for its turn): connected, not interested. Host
  // B fetches meanwhile. Were A dealt a window at its handshake, those pieces would wait out
  // their lease (15 s) before B could have them: B gets every piece at once instead, and A,
  // once it lets go, gets the blob too.
  origin_and_two_hosts net("dealer3", 2 * 1024 * 1024 + 5, 23);
  auto& io = net.io;
  const auto& blob = net.blob;
  fs::create_directories(net.scratch.path / "a");
  std::error_code ec;
  auto a = net.host_a->add(blob.d, blob.metainfo, net.scratch.path / "a", false, false, ec);
  REQUIRE(a);
  a->hold(true);
  a->handle().connect_peer(listening(*net.origin));
  rookery::test::run_until(io, [&] { return net.origin->stats(blob.d).peers == 1; });
  io.run_for(std::chrono::seconds(1));
  const auto& dealing = net.origin->dealing();
  CHECK(dealing.dealt.load() == 0);
  CHECK(a->verified_bytes() == 0);

  auto b = fetch_from(*net.host_b, blob, net.scratch.path / "b", listening(*net.origin));
  rookery::test::run_until(io, [&] { return b->complete(); });
  CHECK(dealing.lapsed.load() == 0);
  CHECK(dealing.redirected.load() == 0);
  CHECK(a->verified_bytes() == 0);

  // As in the late host's case above: A comes when the origin knows B finished.
  rookery::test::run_until(io, [&] { return net.origin->stats(blob.d).seeds == 1; });
  a->hold(false);
  rookery::test::run_until(io, [&] { return a->complete(); });
  a.reset();
  b.reset();
  net.stop();
  CHECK(net.fetched("a") == blob.content);
  CHECK(net.fetched("b") == blob.content);
}

// ---- apply_override (--bt-setting) --------------------------------------------------

TEST_CASE("apply_override: integer, boolean and string settings by name", "[p2p][settings]") {
  lt::settings_pack pack;
  rookery::p2p::apply_override(pack, "aio_threads=2");
  rookery::p2p::apply_override(pack, "enable_dht=true");
  rookery::p2p::apply_override(pack, "user_agent=probe/1=2");
  CHECK(pack.get_int(lt::settings_pack::aio_threads) == 2);
  CHECK(pack.get_bool(lt::settings_pack::enable_dht));
  CHECK(pack.get_str(lt::settings_pack::user_agent) == "probe/1=2");
}

TEST_CASE("apply_override: a later value of the same setting wins", "[p2p][settings]") {
  lt::settings_pack pack;
  rookery::p2p::apply_override(pack, "unchoke_slots_limit=8");
  rookery::p2p::apply_override(pack, "unchoke_slots_limit=-1");
  CHECK(pack.get_int(lt::settings_pack::unchoke_slots_limit) == -1);
}

TEST_CASE("apply_override: unknown names and values of the wrong type are refused",
          "[p2p][settings]") {
  lt::settings_pack pack;
  CHECK_THROWS_WITH(rookery::p2p::apply_override(pack, "no_such_setting=1"),
                    Catch::Contains("no_such_setting=1"));
  CHECK_THROWS_AS(rookery::p2p::apply_override(pack, "aio_threads"), std::invalid_argument);
  CHECK_THROWS_WITH(rookery::p2p::apply_override(pack, "aio_threads=two"),
                    Catch::Contains("aio_threads takes an integer"));
  CHECK_THROWS_WITH(rookery::p2p::apply_override(pack, "aio_threads=2x"),
                    Catch::Contains("not '2x'"));
  CHECK_THROWS_WITH(rookery::p2p::apply_override(pack, "enable_dht=1"),
                    Catch::Contains("enable_dht takes true or false"));
  CHECK_FALSE(pack.has_val(lt::settings_pack::aio_threads));
}
