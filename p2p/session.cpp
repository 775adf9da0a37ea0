#include "p2p/session.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>

#include "layers/error.hpp"

namespace rookery::p2p {
namespace {

lt::settings_pack datacenter_settings(const session_options& opts) {
  lt::settings_pack pack;
  using sp = lt::settings_pack;
  pack.set_str(sp::listen_interfaces, opts.listen);
  pack.set_str(sp::user_agent, "rookery/0.1");
  // Inside a datacenter: no discovery on the LAN or the internet, no port mapping.
  pack.set_bool(sp::enable_dht, false);
  pack.set_bool(sp::enable_lsd, false);
  pack.set_bool(sp::enable_upnp, false);
  pack.set_bool(sp::enable_natpmp, false);
  // uTP costs CPU and buys nothing on a datacenter network.
  pack.set_bool(sp::enable_incoming_utp, false);
  pack.set_bool(sp::enable_outgoing_utp, false);
  // Hosts behind one address (tests on loopback, NAT'd pods) are still distinct peers.
  pack.set_bool(sp::allow_multiple_connections_per_ip, true);
  pack.set_int(sp::connections_limit, opts.connections_limit);
  pack.set_int(sp::unchoke_slots_limit, opts.unchoke_slots);
  pack.set_int(sp::upload_rate_limit, opts.upload_rate_limit);
  pack.set_int(sp::download_rate_limit, opts.download_rate_limit);
  pack.set_int(sp::active_downloads, -1);
  pack.set_int(sp::active_seeds, -1);
  pack.set_int(sp::active_limit, -1);
  // Large buffers and deep request queues for fast, low-latency links.
  pack.set_int(sp::send_buffer_watermark, 4 * 1024 * 1024);
  pack.set_int(sp::send_buffer_low_watermark, 1024 * 1024);
  pack.set_int(sp::max_out_request_queue, 1500);
  pack.set_int(sp::max_allowed_in_request_queue, 2000);
  pack.set_int(sp::request_queue_time, 2);
  // Fail fast: a stuck peer is replaced, a stuck swarm falls back to the registry.
  pack.set_int(sp::peer_connect_timeout, 3);
  pack.set_int(sp::request_timeout, 10);
  pack.set_int(sp::piece_timeout, 10);
  pack.set_int(sp::min_reconnect_time, 1);
  if (opts.seeder) {
    // Few hosts at a time, in turn: each gets different pieces and the hosts trade them.
    pack.set_int(sp::seed_choking_algorithm, sp::round_robin);
    // Turn quickly: a host waiting for its first piece from the origin waits one interval.
    pack.set_int(sp::unchoke_interval, 5);
    // Each host may have only a few blocks requested from the origin at a time, so it cannot
    // reserve half the layer there; what it lacks it then finds at other hosts.
    pack.set_int(sp::max_allowed_in_request_queue, opts.origin_request_queue);
  }
  pack.set_int(sp::alert_mask, lt::alert_category::error | lt::alert_category::status |
                                   lt::alert_category::storage |
                                   lt::alert_category::piece_progress);
  return pack;
}

std::error_code as_std(const lt::error_code&) {
  return make_error_code(errc::store_failure);
}

}  // namespace

// ---- torrent --------------------------------------------------------------

torrent::torrent(asio::io_context& io, layers::digest d, lt::torrent_handle h, std::uint64_t size,
                 int piece_length, std::filesystem::path file)
    : digest_(std::move(d)),
      handle_(std::move(h)),
      size_(size),
      piece_length_(piece_length),
      file_(std::move(file)),
      have_(static_cast<std::size_t>((size + static_cast<std::uint64_t>(piece_length) - 1) /
                                     static_cast<std::uint64_t>(piece_length))),
      last_progress_(std::chrono::steady_clock::now()),
      signal_(io, asio::steady_timer::time_point::max()) {}

std::uint64_t torrent::contiguous() const noexcept {
  const std::uint64_t bytes =
      static_cast<std::uint64_t>(next_missing_) * static_cast<std::uint64_t>(piece_length_);
  return bytes < size_ ? bytes : size_;
}

asio::awaitable<void> torrent::changed() {
  boost::system::error_code ignored;
  co_await signal_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

void torrent::on_piece(int piece) {
  if (piece < 0 || piece >= piece_count() || have_[static_cast<std::size_t>(piece)]) return;
  have_[static_cast<std::size_t>(piece)] = true;
  ++have_count_;
  while (next_missing_ < piece_count() && have_[static_cast<std::size_t>(next_missing_)])
    ++next_missing_;
  last_progress_ = std::chrono::steady_clock::now();
  notify();
}

void torrent::on_error(std::error_code ec) {
  error_ = ec;
  notify();
}

const torrent::piece_data* torrent::piece(int index) {
  if (auto it = pieces_read_.find(index); it != pieces_read_.end()) return &it->second;
  if (index < 0 || index >= piece_count() || !have_[static_cast<std::size_t>(index)])
    return nullptr;
  if (!reads_pending_[index]) {
    reads_pending_[index] = true;
    handle_.read_piece(lt::piece_index_t(index));
  }
  return nullptr;
}

void torrent::on_read(int index, boost::shared_array<char> bytes, int size) {
  reads_pending_.erase(index);
  if (bytes) pieces_read_[index] = piece_data{std::move(bytes), size};
  notify();
}

void torrent::want(std::uint64_t offset) {
  const int index = static_cast<int>(offset / static_cast<std::uint64_t>(piece_length_));
  if (index >= piece_count() || have_[static_cast<std::size_t>(index)] || urgent_[index]) return;
  urgent_[index] = true;
  handle_.set_piece_deadline(lt::piece_index_t(index), 0);
}

// ---- session --------------------------------------------------------------

session::session(asio::io_context& io, session_options opts)
    : io_(io), alive_(std::make_shared<bool>(true)), ticker_(io) {
  lt::session_params params(datacenter_settings(opts));
  lt_ = std::make_unique<lt::session>(std::move(params));
  if (opts.upload_rate_limit > 0 || opts.download_rate_limit > 0) {
    // libtorrent exempts LAN peers from rate limits by default; a datacenter is all LAN, so
    // put every address in the global class that the limits apply to.
    lt::ip_filter all;
    all.add_rule(lt::address_v4::any(), lt::address_v4::broadcast(),
                 1 << static_cast<std::uint32_t>(lt::session::global_peer_class_id));
    all.add_rule(lt::address_v6::any(),
                 lt::address_v6({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                 0xff, 0xff, 0xff, 0xff, 0xff}),
                 1 << static_cast<std::uint32_t>(lt::session::global_peer_class_id));
    lt_->set_peer_class_filter(all);
  }
  std::weak_ptr<bool> alive = alive_;
  lt_->set_alert_notify([this, alive] {
    // libtorrent's thread: only hand over to ours.
    asio::post(io_, [this, alive] {
      if (alive.lock()) drain_alerts();
    });
  });
  asio::co_spawn(io_, tick(), asio::detached);
}

session::~session() {
  alive_.reset();
  ticker_.cancel();
  lt_->set_alert_notify([] {});
}

asio::awaitable<void> session::tick() {
  std::weak_ptr<bool> alive = alive_;
  for (;;) {
    ticker_.expires_after(std::chrono::milliseconds(500));
    boost::system::error_code ec;
    co_await ticker_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !alive.lock()) co_return;
    for (auto& [d, t] : torrents_) {
      // Alone with one peer (the seeder), take pieces in order: nobody to trade with, and the
      // client's stream then keeps pace with the download. With other hosts, rarest-first.
      if (!t->complete() && !t->failed()) {
        const auto st = t->handle().status();
        // Progress is any payload arriving, not only whole pieces: with many hosts sharing
        // the origin's link a piece can take seconds while blocks keep coming.
        if (st.total_payload_download > t->payload_seen_) {
          t->payload_seen_ = st.total_payload_download;
          t->last_progress_ = std::chrono::steady_clock::now();
          last_progress_ = t->last_progress_;
        }
        // Alone means the tracker knows no other downloader either: hosts that started
        // together must not all take the same first pieces from the origin.
        const bool alone = st.num_peers <= 1 && st.num_incomplete >= 0 && st.num_incomplete <= 1;
        if (alone != t->sequential_) {
          t->sequential_ = alone;
          if (alone) {
            t->handle().set_flags(lt::torrent_flags::sequential_download);
          } else {
            t->handle().unset_flags(lt::torrent_flags::sequential_download);
          }
        }
      }
      t->notify();  // readers re-check for stalls even when no piece arrives
    }
  }
}

std::shared_ptr<torrent> session::add(const layers::digest& d, const std::string& metainfo,
                                      const std::filesystem::path& save_dir, bool seed,
                                      bool keep_web_seeds, std::error_code& ec) {
  if (auto existing = find(d)) {
    std::lock_guard lock(handles_mutex_);
    if (handles_.contains(d)) return existing;
    torrents_.erase(d);  // removed a moment ago; its handle is gone already
  }
  lt::error_code lec;
  auto ti =
      std::make_shared<lt::torrent_info>(metainfo.data(), static_cast<int>(metainfo.size()), lec);
  // The metainfo must describe exactly this blob: one file named by the digest's hex.
  if (lec || ti->num_files() != 1 || ti->name() != d.hex() || ti->total_size() <= 0) {
    ec = errc::upstream_bad_response;
    return nullptr;
  }
  if (!keep_web_seeds) ti->set_web_seeds({});
  lt::add_torrent_params atp;
  atp.ti = ti;
  atp.save_path = save_dir.string();
  atp.flags &= ~(lt::torrent_flags::auto_managed | lt::torrent_flags::paused);
  // A complete, verified file: no hashing pass now; each piece is checked the first time it
  // is uploaded, so a file damaged on disk is never sent. (Super-seeding the origin was
  // measured on the testbed: 16 hosts finished later (2.5x the link limit against 2.1x) for
  // less origin traffic (1.4x the image against 1.6-1.7x), so it stays off.)
  if (seed) atp.flags |= lt::torrent_flags::seed_mode;
  lt::torrent_handle h = lt_->add_torrent(std::move(atp), lec);
  if (lec) {
    spdlog::warn("libtorrent refused {}: {}", d.str(), lec.message());
    ec = errc::store_failure;
    return nullptr;
  }
  auto t = std::make_shared<torrent>(io_, d, h, static_cast<std::uint64_t>(ti->total_size()),
                                     ti->piece_length(), save_dir / d.hex());
  if (seed) {
    for (int p = 0; p < t->piece_count(); ++p) t->on_piece(p);
  }
  torrents_.emplace(d, t);
  {
    std::lock_guard lock(handles_mutex_);
    handles_[d] = h;
  }
  ec.clear();
  return t;
}

void session::remove(const layers::digest& d) {
  lt::torrent_handle removed;
  {
    std::lock_guard lock(handles_mutex_);
    auto it = handles_.find(d);
    if (it == handles_.end()) return;
    removed = it->second;
    lt_->remove_torrent(removed);  // thread-safe; the torrent stops at once, asynchronously
    handles_.erase(it);
  }
  std::weak_ptr<bool> alive = alive_;
  asio::post(io_, [this, alive, d, removed] {
    if (!alive.lock()) return;
    auto it = torrents_.find(d);
    if (it == torrents_.end() || it->second->handle() != removed) return;
    it->second->on_error(make_error_code(errc::blob_unknown));
    moving_from_.erase(d);
    torrents_.erase(it);
  });
}

std::shared_ptr<torrent> session::find(const layers::digest& d) const {
  auto it = torrents_.find(d);
  return it == torrents_.end() ? nullptr : it->second;
}

std::shared_ptr<torrent> session::by_handle(const lt::torrent_handle& h) const {
  for (const auto& [d, t] : torrents_) {
    if (t->handle() == h) return t;
  }
  return nullptr;
}

void session::adopt_storage(const layers::digest& d, const std::filesystem::path& save_dir) {
  auto t = find(d);
  if (!t) return;
  moving_from_[d] = t->file_.parent_path();
  t->file_ = save_dir / d.hex();
  t->handle_.move_storage(save_dir.string(), lt::move_flags_t::dont_replace);
}

namespace {
// libtorrent's session counters restart (seen when a finished torrent's storage moved), and
// its all-time counters trail them by up to a second: the larger of the two is right either way.
std::uint64_t payload(std::int64_t all_time, std::int64_t session) {
  return static_cast<std::uint64_t>(std::max(all_time, session));
}
}  // namespace

transfer_totals session::totals() const {
  transfer_totals out;
  for (const auto& [d, t] : torrents_) {
    const auto st = t->handle().status();
    out.downloaded += payload(st.all_time_download, st.total_payload_download);
    out.uploaded += payload(st.all_time_upload, st.total_payload_upload);
  }
  return out;
}

session::blob_stats session::stats(const layers::digest& d) const {
  blob_stats out;
  if (auto t = find(d)) {
    const auto st = t->handle().status();
    out.downloaded = payload(st.all_time_download, st.total_payload_download);
    out.uploaded = payload(st.all_time_upload, st.total_payload_upload);
    out.peers = st.num_peers;
    out.seeds = st.num_seeds;
    out.complete = t->complete();
  }
  return out;
}

int session::listen_port() const {
  return lt_->listen_port();
}

void session::drain_alerts() {
  std::vector<lt::alert*> alerts;
  lt_->pop_alerts(&alerts);
  for (lt::alert* a : alerts) {
    if (auto* p = lt::alert_cast<lt::piece_finished_alert>(a)) {
      if (auto t = by_handle(p->handle)) t->on_piece(static_cast<int>(p->piece_index));
    } else if (auto* r = lt::alert_cast<lt::read_piece_alert>(a)) {
      if (auto t = by_handle(r->handle)) {
        if (r->error)
          spdlog::warn("reading piece {} of {}: {}", static_cast<int>(r->piece), t->digest().str(),
                       r->error.message());
        t->on_read(static_cast<int>(r->piece), r->error ? nullptr : r->buffer, r->size);
      }
    } else if (auto* h = lt::alert_cast<lt::hash_failed_alert>(a)) {
      ++hash_failures_;
      spdlog::warn("piece {} of {} failed its hash check; fetching it again",
                   static_cast<int>(h->piece_index), h->torrent_name());
    } else if (auto* e = lt::alert_cast<lt::torrent_error_alert>(a)) {
      spdlog::warn("torrent {}: {}", e->torrent_name(), e->error.message());
      if (auto t = by_handle(e->handle)) t->on_error(as_std(e->error));
    } else if (auto* f = lt::alert_cast<lt::file_error_alert>(a)) {
      spdlog::warn("torrent {} file error: {}", f->torrent_name(), f->error.message());
      if (auto t = by_handle(f->handle)) t->on_error(as_std(f->error));
    } else if (auto* m = lt::alert_cast<lt::storage_moved_alert>(a)) {
      if (auto t = by_handle(m->handle)) {
        if (auto it = moving_from_.find(t->digest()); it != moving_from_.end()) {
          std::error_code ignored;
          std::filesystem::remove_all(it->second, ignored);
          moving_from_.erase(it);
        }
        // Pieces still missing are in the adopted (complete, verified) file: see them.
        if (!t->complete()) t->handle().force_recheck();
      }
    } else if (auto* mf = lt::alert_cast<lt::storage_moved_failed_alert>(a)) {
      spdlog::warn("moving {} failed: {}", mf->torrent_name(), mf->error.message());
    } else if (lt::alert_cast<lt::alerts_dropped_alert>(a)) {
      ++alerts_dropped_;
      // Piece alerts may be among the lost: resynchronise from libtorrent's own view.
      for (auto& [d, t] : torrents_) {
        const auto st = t->handle().status(lt::torrent_handle::query_pieces);
        for (int p = 0; p < t->piece_count() && p < st.pieces.size(); ++p) {
          if (st.pieces.get_bit(lt::piece_index_t(p))) t->on_piece(p);
        }
      }
    }
  }
}

}  // namespace rookery::p2p
