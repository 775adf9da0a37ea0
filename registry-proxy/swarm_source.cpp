#include "registry-proxy/swarm_source.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <libtorrent/socket.hpp>
#include <random>

#include "layers/error.hpp"

namespace rookery::proxy {
namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace bhttp = boost::beast::http;

constexpr std::chrono::milliseconds urgent_after{1000};
constexpr int read_ahead = 3;  // pieces read from libtorrent ahead of the one being sent
constexpr std::uint64_t fill_request_bytes = 128 << 10;  // one Range request of a fill, at most

namespace {

/// A fill of a torrent's missing pieces from the registry; shared by the reader and the fill.
struct fill_state {
  explicit fill_state(int pieces) : filled(static_cast<std::size_t>(pieces)) {}
  std::vector<bool> filled;  ///< pieces this host took from the registry into the swarm
  bool stop = false;         ///< the reader is gone
  std::error_code error;     ///< why the fill ended early
};

// Pieces [first, first + run) from the registry in one Range request, each handed to libtorrent
// unless a peer delivered it meanwhile.
asio::awaitable<std::error_code> fill_run(p2p::torrent& t, const pull::blob_request& request,
                                          lt::piece_index_t first, int run, std::uint64_t* counter,
                                          fill_state& state) {
  const lt::piece_index_t last = first + lt::piece_index_t::diff_type{run - 1};
  pull::upstream_refusal refusal;
  std::error_code ec;
  auto reader = co_await pull::upstream_blob_source::open_range(
      request, t.piece_start(first), t.piece_start(last) + t.piece_size(last) - 1, counter, refusal,
      ec);
  if (!reader) co_return ec ? ec : make_error_code(errc::upstream_bad_response);
  for (lt::piece_index_t index = first; index <= last; ++index) {
    std::vector<char> bytes(t.piece_size(index));
    for (std::size_t got = 0; got < bytes.size();) {
      const std::size_t n = co_await reader->read_some(bytes.data() + got, bytes.size() - got, ec);
      if (ec) co_return ec;
      if (n == 0) co_return make_error_code(errc::upstream_bad_response);
      got += n;
    }
    if (t.has(index)) continue;
    state.filled[static_cast<std::size_t>(static_cast<int>(index))] = true;
    t.add_piece(index, std::move(bytes));
  }
  co_return std::error_code{};
}

// The swarm stalled (the seeder gone, say): this host takes the pieces nobody it is connected
// to has from the registry and hands them to libtorrent, which checks them and offers them to
// its peers. It goes through the blob in blocks of up to fill_request_bytes, in an order of its
// own (shuffled), skipping pieces that arrived or that a peer has meanwhile: hosts that stalled
// together fetch different blocks and trade them, so the registry sends each missing piece
// about once, not the rest of the layer to every host. (Going round from a random start
// instead, a host that reaches the block another is fetching fetches it too, and the next
// one: the two go on in step.) One round; what is still missing after it (a peer that had it
// left) stalls again, and the rest of the blob then comes from the registry.
asio::awaitable<void> fill_missing(std::shared_ptr<p2p::torrent> t, pull::blob_request request,
                                   std::uint64_t* counter, std::shared_ptr<fill_state> state) {
  static std::minstd_rand random(std::random_device{}());
  const int n = t->piece_count();
  const int per_block = std::max<int>(
      1, static_cast<int>(fill_request_bytes / static_cast<std::uint64_t>(t->piece_length())));
  std::vector<int> blocks;
  for (int first = 0; first < n; first += per_block) blocks.push_back(first);
  std::shuffle(blocks.begin(), blocks.end(), random);
  std::vector<int> availability;  // peers that have each piece, as libtorrent counts them
  const auto elsewhere = [&](int piece) {
    return t->has(lt::piece_index_t(piece)) ||
           (static_cast<std::size_t>(piece) < availability.size() && availability[piece] > 0);
  };
  const auto refresh = [&] {
    try {
      t->handle().piece_availability(availability);  // a blocking call: once per request
      return true;
    } catch (const lt::system_error&) {
      return false;  // the torrent was removed
    }
  };
  for (const int block : blocks) {
    if (!refresh()) break;
    const int end = std::min(n, block + per_block);
    for (int first = block; first < end && !state->stop && !t->failed(); ++first) {
      if (elsewhere(first)) continue;
      int run = 1;  // a run of missing pieces within the block
      while (first + run < end && !elsewhere(first + run)) ++run;
      state->error = co_await fill_run(*t, request, lt::piece_index_t(first), run, counter, *state);
      if (state->error || !refresh()) break;
      first += run - 1;
    }
    if (state->stop || state->error || t->failed()) break;
  }
}

}  // namespace

/// Follows a torrent in order; switches to upstream for the rest when the swarm stalls.
class swarm_reader final : public pull::blob_reader {
 public:
  swarm_reader(swarm_source& owner, std::shared_ptr<p2p::torrent> t, pull::blob_request request)
      : owner_(owner),
        torrent_(std::move(t)),
        request_(std::move(request)),
        in_place_(owner.swarm_.verified_in_file()) {}
  ~swarm_reader() override {
    if (fill_) fill_->stop = true;
  }
  std::optional<std::uint64_t> size() const override { return torrent_->size(); }
  bool from_peers() const override { return !fallback_ && !filled_; }
  std::uint64_t held() const override { return fallback_ ? 0 : torrent_->verified_bytes(); }
  const fs::path* in_place() const override {
    return in_place_ && !fallback_ ? &torrent_->file() : nullptr;
  }

  asio::awaitable<std::size_t> read_some(void* data, std::size_t size,
                                         std::error_code& ec) override {
    ec.clear();
    for (;;) {
      if (fallback_) co_return co_await fallback_->read_some(data, size, ec);
      if (offset_ >= torrent_->size()) co_return 0;
      if (torrent_->contiguous() > offset_ && in_place_) {
        // The verified bytes are in libtorrent's file: the store takes them there (in_place).
        std::uint64_t end = torrent_->contiguous();
        const lt::piece_index_t index = torrent_->piece_at(offset_);
        // One piece at a time once some are filled, so that handed_over counts them right.
        if (fill_) end = std::min(end, torrent_->piece_start(index) + torrent_->piece_size(index));
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(size, end - offset_));
        handed_over(index, n);
        co_return n;
      }
      if (torrent_->contiguous() > offset_) {
        // Read through libtorrent: with --bt-disk-io mmap a verified piece may still sit in
        // its store buffer, not yet in the file (posix writes each block before it hashes).
        const lt::piece_index_t index = torrent_->piece_at(offset_);
        // Keep a few reads in flight so disk reads overlap with sending.
        for (int ahead = 1; ahead <= read_ahead; ++ahead)
          torrent_->piece(index + lt::piece_index_t::diff_type{ahead});
        if (const auto* piece = torrent_->piece(index)) {
          const std::size_t in_piece =
              static_cast<std::size_t>(offset_ - torrent_->piece_start(index));
          const std::size_t n =
              std::min<std::size_t>(size, static_cast<std::size_t>(piece->size) - in_piece);
          std::memcpy(data, piece->bytes.get() + in_piece, n);
          handed_over(index, n);
          if (in_piece + n == static_cast<std::size_t>(piece->size)) torrent_->release(index);
          co_return n;
        }
        if (!torrent_->failed()) {
          co_await torrent_->changed();
          continue;
        }
      } else if (!torrent_->failed() && !(fill_ && fill_->error) &&
                 std::chrono::steady_clock::now() -
                         std::max({torrent_->last_progress(), owner_.swarm_.last_progress(),
                                   fill_since_}) <
                     owner_.opts_.stall) {
        // The first piece is urgent (time to first byte); later ones only once the client has
        // waited a while: until then rarest-first keeps the hosts trading.
        const auto now = std::chrono::steady_clock::now();
        if (!waiting_since_) waiting_since_ = now;
        if (offset_ == 0 || now - *waiting_since_ >= urgent_after) torrent_->want(offset_);
        co_await torrent_->changed();
        continue;
      }
      if (!fill_ && !torrent_->failed()) {
        // Stalled: the missing pieces come from the registry, into the swarm.
        spdlog::warn("swarm stalled on {} at byte {} ({}); taking the missing pieces from upstream",
                     request_.digest.str(), offset_, torrent_->stall_report());
        ++owner_.fallbacks_.filled;
        fill_ = std::make_shared<fill_state>(torrent_->piece_count());
        fill_since_ = std::chrono::steady_clock::now();
        asio::co_spawn(co_await asio::this_coro::executor,
                       fill_missing(torrent_, request_, &owner_.bytes_.upstream, fill_),
                       asio::detached);
        continue;
      }
      // Stalled while filling, failed or unreadable: the registry sends the rest.
      if (fill_) fill_->stop = true;
      spdlog::warn("swarm stalled on {} at byte {}; taking the rest from upstream",
                   request_.digest.str(), offset_);
      ++owner_.fallbacks_.stalled;
      pull::upstream_refusal refusal;
      fallback_ = co_await pull::upstream_blob_source::open_range(
          request_, offset_, std::nullopt, &owner_.bytes_.upstream, refusal, ec);
      if (!fallback_) {
        if (!ec) ec = errc::upstream_bad_response;
        co_return 0;
      }
    }
  }

 private:
  // `n` bytes of piece `index` went to the fetcher: from peers, unless this host filled the
  // piece from the registry (counted as upstream bytes then).
  void handed_over(lt::piece_index_t index, std::size_t n) {
    offset_ += n;
    filled_ = fill_ && fill_->filled[static_cast<std::size_t>(static_cast<int>(index))];
    if (!filled_) owner_.bytes_.peers += n;
    waiting_since_.reset();
  }

  swarm_source& owner_;
  std::shared_ptr<p2p::torrent> torrent_;
  pull::blob_request request_;
  std::uint64_t offset_ = 0;
  std::optional<std::chrono::steady_clock::time_point> waiting_since_;
  std::unique_ptr<pull::blob_reader> fallback_;
  std::shared_ptr<fill_state> fill_;  ///< the fill of missing pieces, once the swarm stalled
  std::chrono::steady_clock::time_point fill_since_;
  bool filled_ = false;  ///< the last bytes read came from a piece this host filled
  const bool in_place_;  ///< verified pieces are in libtorrent's file (see in_place())
};

swarm_source::swarm_source(asio::ssl::context& tls, p2p::session& swarm, layers::blob_store& store,
                           swarm_options opts)
    : tls_(tls),
      swarm_(swarm),
      store_(store),
      opts_(std::move(opts)),
      saved_(opts_.work_dir / "torrents") {
  fs::remove_all(opts_.work_dir / "downloads");  // partial downloads of a previous run
  fs::create_directories(opts_.work_dir / "downloads");
}

constexpr std::chrono::milliseconds twin_after{1000};  // a metainfo try gets a twin then

asio::awaitable<std::string> swarm_source::fetch_metainfo(const pull::blob_request& request,
                                                          pull::upstream_refusal& refusal,
                                                          int& seeder_port) {
  const http::latency_timer timer(metainfo_latency_);
  http::url where = opts_.seeder;
  where.target = "/v1/blobs/" + request.digest.str() + "/torrent?repo=" + request.repository;
  bhttp::fields headers;
  if (!request.authorization.empty())
    headers.set(bhttp::field::authorization, request.authorization);
  // The seeder shares the origin's link with everything the swarm sends from there. On that
  // busy link a lost SYN or response segment waits out TCP's backed-off retransmission timer
  // (1, 2, 4 s...), and giving up would send this host to the registry over the same link.
  // So each round gets a short deadline that doubles (a seeder fetching a cold blob answers a
  // repeated request from the same fetch), and rounds go on while the budget lasts; a request
  // with no answer after twin_after gets a twin on a new connection, and the first answer wins
  // (on the testbed 8-30 of 80 metainfo requests per race missed their first 2 s deadline).
  // A seeder that is down refuses at once: three refusals end it.
  auto ex = co_await asio::this_coro::executor;
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  const auto give_up = started + opts_.metainfo_timeout;
  const auto elapsed_ms = [started] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started).count();
  };
  std::chrono::milliseconds per_try{2000};
  std::error_code ec;
  int rounds = 0, refused = 0;
  for (;;) {
    const auto now = clock::now();
    if (now >= give_up) break;
    const auto deadline = std::min(now + per_try, give_up);
    http::client_options copts;
    copts.connect_timeout = copts.response_timeout = copts.idle_timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    ++rounds;
    auto res = co_await http::send_request_with_twin(ex, tls_, bhttp::verb::get, where, headers,
                                                     copts, twin_after, ec);
    if (res && res->status() != 200) {
      refusal = co_await pull::read_refusal(*res);
      co_return std::string{};
    }
    std::string metainfo;
    if (res && !(ec = co_await res->read_body(metainfo, 16 * 1024 * 1024))) {
      const std::string bt_port(res->headers()["X-Rookery-BT-Port"]);
      seeder_port = bt_port.empty() ? 0 : std::atoi(bt_port.c_str());
      if (clock::now() - started >= twin_after)
        spdlog::info("metainfo for {} came after {} ms (round {})", request.digest.str(),
                     elapsed_ms(), rounds);
      co_return metainfo;
    }
    if (clock::now() < deadline) {  // refused or broken, not slow
      if (++refused == 3) break;
      asio::steady_timer pause(ex, std::chrono::milliseconds(200 * refused));
      co_await pause.async_wait(asio::use_awaitable);
    }
    per_try *= 2;
  }
  spdlog::warn("no metainfo from the seeder for {} after {} rounds in {} ms: {}",
               request.digest.str(), rounds, elapsed_ms(), ec.message());
  co_return std::string{};
}

bool swarm_source::fronted(const pull::blob_request& request) const {
  return std::find(opts_.fronts.begin(), opts_.fronts.end(), request.from->config().name) !=
         opts_.fronts.end();
}

std::shared_ptr<p2p::torrent> swarm_source::join(const pull::blob_request& request,
                                                 std::string metainfo, int seeder_port, bool held,
                                                 std::error_code& ec) {
  const fs::path dir = opts_.work_dir / "downloads" / request.digest.hex();
  auto t = swarm_.add(request.digest, metainfo, dir, /*seed=*/false, /*keep_web_seeds=*/false, ec);
  if (!t) return nullptr;
  metainfo_[request.digest] = std::move(metainfo);
  t->hold(held);  // before the first connection
  meet_seeder(*t, seeder_port);
  return t;
}

void swarm_source::meet_seeder(p2p::torrent& t, int seeder_port) const {
  boost::system::error_code aec;
  auto address = boost::asio::ip::make_address(opts_.seeder.host, aec);
  if (!aec && seeder_port > 0)
    t.handle().connect_peer(lt::tcp::endpoint(address, static_cast<unsigned short>(seeder_port)));
}

bool swarm_source::prepared_for(const pull::blob_request& request) const {
  const auto p = prepared_.find(request.digest);
  return p != prepared_.end() && p->second.repository == request.repository &&
         p->second.authorization == request.authorization &&
         std::chrono::steady_clock::now() - p->second.checked < opts_.access_fresh;
}

asio::awaitable<void> swarm_source::prepare(const pull::blob_request& request) {
  const auto& d = request.digest;
  if (!fronted(request) || swarm_.find(d) || !preparing_.insert(d).second) co_return;
  pull::upstream_refusal refusal;
  int seeder_port = 0;
  std::string metainfo;
  try {
    metainfo = co_await fetch_metainfo(request, refusal, seeder_port);
  } catch (...) {
    preparing_.erase(d);
    throw;
  }
  // Refused, no answer, or opened meanwhile (its fetch may even have ended): nothing to prepare.
  if (preparing_.erase(d) == 0 || metainfo.empty() || swarm_.find(d) || store_.contains(d))
    co_return;
  std::error_code ec;
  if (join(request, std::move(metainfo), seeder_port, /*held=*/true, ec))
    prepared_[d] =
        prepared{request.repository, request.authorization, std::chrono::steady_clock::now()};
}

asio::awaitable<std::unique_ptr<pull::blob_reader>> swarm_source::open(
    const pull::blob_request& request, pull::upstream_refusal& refusal, std::error_code& ec) {
  // Only the registry the seeder seeds goes through it: a client's credentials for any other
  // registry never reach the seeder.
  if (!fronted(request)) co_return co_await direct_.open(request, refusal, ec);
  preparing_.erase(request.digest);  // a prepare under way must not join after this
  // The seeder's answer is this client's access check, so it is asked every time, even when
  // a torrent for the blob is still around.
  int seeder_port = 0;
  std::string metainfo = co_await fetch_metainfo(request, refusal, seeder_port);
  if (refusal.status == 401 || refusal.status == 403) {
    co_return nullptr;  // the registry says this client may not read it: so do we
  }
  const bool silent = metainfo.empty() && refusal.status == 0;  // no answer at all
  refusal = {};
  auto t = swarm_.find(request.digest);
  if (metainfo.empty()) {
    // No answer at all (the seeder is gone, say; any other refusal goes to the registry with
    // the client's credentials). A swarm joined a moment ago for this same request and
    // credentials (prepare) still has its metainfo, its peers, and the seeder's access check.
    if (t && silent && prepared_for(request)) {
      spdlog::info("no metainfo from the seeder for {}: going on in the swarm joined earlier",
                   request.digest.str());
    } else {
      t = nullptr;
    }
  } else if (!t) {
    t = join(request, std::move(metainfo), seeder_port, /*held=*/false, ec);
  } else if (t->held()) {
    meet_seeder(*t, seeder_port);  // the connection made at prepare may be gone
  }
  if (!t) {
    ++fallbacks_.no_torrent;
    ec.clear();
    co_return co_await pull::upstream_blob_source::open_range(request, 0, std::nullopt,
                                                              &bytes_.upstream, refusal, ec);
  }
  prepared_.erase(request.digest);
  t->hold(false);
  t->want(0);
  co_return std::make_unique<swarm_reader>(*this, t, request);
}

void swarm_source::committed(const layers::digest& d) {
  prepared_.erase(d);
  // The verified copy in the store becomes what we seed from.
  auto it = metainfo_.find(d);
  auto t = swarm_.find(d);
  if (t && !t->complete() && it != metainfo_.end()) {
    // Some bytes came from upstream, so libtorrent lacks pieces the store has. Rechecking the
    // live torrent would crash libtorrent 2.0.8 (blocks still arriving meet the piece picker
    // the recheck freed); a new torrent in seed mode over the verified copy needs no check.
    swarm_.remove(d);
    std::error_code ec;
    swarm_.add(d, it->second, store_.directory(d.algorithm()), /*seed=*/true, false, ec);
    fs::remove_all(opts_.work_dir / "downloads" / d.hex(), ec);
  } else if (t) {
    swarm_.adopt_storage(d, store_.directory(d.algorithm()));
  }
  if (it != metainfo_.end()) {
    if (!saved_.save(d, it->second)) spdlog::warn("could not save the metainfo of {}", d.str());
    metainfo_.erase(it);
  }
}

void swarm_source::failed(const layers::digest& d) {
  // Nothing half-downloaded stays in the swarm: the next request starts clean.
  prepared_.erase(d);
  swarm_.remove(d);
  metainfo_.erase(d);
  std::error_code ignored;
  fs::remove_all(opts_.work_dir / "downloads" / d.hex(), ignored);
}

void swarm_source::evicted(const layers::digest& d) {
  swarm_.remove(d);  // before the store removes the file
  saved_.remove(d);
  // The torrent's own name for the store's file (session::adopt_storage), else its space would
  // outlive the eviction.
  std::error_code ignored;
  fs::remove_all(opts_.work_dir / "downloads" / d.hex(), ignored);
}

std::size_t swarm_source::restore() {
  std::size_t seeded = 0;
  for (const auto& d : saved_.list()) {
    const auto metainfo = store_.contains(d) ? saved_.load(d) : std::nullopt;
    std::error_code ec;
    if (metainfo &&
        swarm_.add(d, *metainfo, store_.directory(d.algorithm()), /*seed=*/true, false, ec)) {
      ++seeded;
    } else {
      saved_.remove(d);
    }
  }
  return seeded;
}

}  // namespace rookery::proxy
