#include "p2p/session.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/extensions/smart_ban.hpp>
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/peer_info.hpp>
#include <libtorrent/posix_disk_io.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>
#include <stdexcept>

#include "layers/error.hpp"
#include "layers/small_file.hpp"
#include "p2p/peer_bans.hpp"
#include "p2p/pread_disk_io.hpp"

namespace rookery::p2p {
namespace asio = boost::asio;
namespace {

// RFC 7919's ffdhe2048 group: libtorrent wants DH parameters with every SSL torrent's
// certificate (TLS 1.3 and ECDHE do not use them, but an empty value raises a torrent error).
constexpr const char* ffdhe2048_pem =
    "-----BEGIN DH PARAMETERS-----\n"
    "MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz\n"
    "+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a\n"
    "87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7\n"
    "YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi\n"
    "7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD\n"
    "ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==\n"
    "-----END DH PARAMETERS-----\n";

// "a:1,b:2" -> "a:1s,b:2s": libtorrent's TLS-only listen sockets.
std::string tls_only(const std::string& interfaces) {
  std::string out;
  std::size_t start = 0;
  while (start <= interfaces.size()) {
    auto end = interfaces.find(',', start);
    if (end == std::string::npos) end = interfaces.size();
    std::string item = interfaces.substr(start, end - start);
    if (!item.empty()) {
      if (item.back() != 's') item += 's';
      out += (out.empty() ? "" : ",") + item;
    }
    start = end + 1;
  }
  return out;
}

lt::settings_pack datacenter_settings(const session_options& opts) {
  lt::settings_pack pack;
  using sp = lt::settings_pack;
  pack.set_str(sp::listen_interfaces,
               opts.fleet_cert_pem.empty() ? opts.listen : tls_only(opts.listen));
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
  // Keep a connection between two seeds open (idle). Closing it, libtorrent's default, happens
  // at the extension handshake before either side learns the other is a seed, so they
  // reconnect every min_reconnect_time: 18,000 TLS handshakes in one 16-host run.
  pack.set_bool(sp::close_redundant_connections, false);
  if (opts.seeder) {
    // Without a dealer: few hosts at a time, in turn, so each gets different pieces and the
    // hosts trade them. (With one, unchoke_slots is -1: every host, from the first second.)
    pack.set_int(sp::seed_choking_algorithm, sp::round_robin);
    // Turn quickly: a host waiting for its first piece from the origin waits one interval.
    pack.set_int(sp::unchoke_interval, 5);
    // Each host may have only a few blocks requested from the origin at a time, so it cannot
    // reserve half the layer there; what it lacks it then finds at other hosts.
    pack.set_int(sp::max_allowed_in_request_queue, opts.origin_request_queue);
  }
  // No allowed-fast set (BEP 6: pieces a choked host may ask for) from a dealing origin:
  // libtorrent sends it when the host says it is interested, before the dealer has shown the
  // host its window, and serves those pieces whoever they were dealt to.
  if (opts.deal_pieces) pack.set_int(sp::allowed_fast_set_size, 0);
  pack.set_int(sp::alert_mask, lt::alert_category::error | lt::alert_category::status |
                                   lt::alert_category::storage |
                                   lt::alert_category::piece_progress | lt::alert_category::peer);
  for (const auto& setting : opts.overrides) apply_override(pack, setting);
  return pack;
}

struct smart_ban_only final : lt::plugin {
  std::shared_ptr<lt::torrent_plugin> new_torrent(const lt::torrent_handle& h,
                                                  lt::client_data_t data) override {
    return lt::create_smart_ban_plugin(h, data);
  }
};

lt::address_v6 all_ones_v6() {
  lt::address_v6::bytes_type bytes;
  bytes.fill(0xff);
  return lt::address_v6(bytes);
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  return text;
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

void torrent::on_piece(lt::piece_index_t index) {
  const int piece = static_cast<int>(index);
  if (piece < 0 || piece >= piece_count() || have_[static_cast<std::size_t>(piece)]) return;
  have_[static_cast<std::size_t>(piece)] = true;
  if (++have_count_ == 1) first_had_ = piece;
  while (next_missing_ < piece_count() && have_[static_cast<std::size_t>(next_missing_)])
    ++next_missing_;
  last_progress_ = std::chrono::steady_clock::now();
  notify();
}

void torrent::on_error(std::error_code ec) {
  error_ = ec;
  notify();
}

const torrent::piece_data* torrent::piece(lt::piece_index_t piece_index) {
  const int index = static_cast<int>(piece_index);
  if (auto it = pieces_read_.find(index); it != pieces_read_.end()) return &it->second;
  if (index < 0 || index >= piece_count() || !have_[static_cast<std::size_t>(index)])
    return nullptr;
  if (!reads_pending_[index]) {
    reads_pending_[index] = true;
    handle_.read_piece(piece_index);
  }
  return nullptr;
}

void torrent::on_read(lt::piece_index_t piece_index, boost::shared_array<char> bytes, int size) {
  const int index = static_cast<int>(piece_index);
  reads_pending_.erase(index);
  if (bytes) pieces_read_[index] = piece_data{std::move(bytes), size};
  notify();
}

void torrent::add_piece(lt::piece_index_t index, std::vector<char> bytes) {
  try {
    handle_.add_piece(index, std::move(bytes));
  } catch (const lt::system_error&) {
    // The torrent was removed (evicted) meanwhile: its readers see the error.
  }
}

void torrent::want(std::uint64_t offset) {
  const int index = static_cast<int>(offset / static_cast<std::uint64_t>(piece_length_));
  if (index >= piece_count() || have_[static_cast<std::size_t>(index)] || urgent_[index]) return;
  urgent_[index] = true;
  // Top priority, not a piece deadline: libtorrent 2.0.8's set_piece_deadline posts a cancel of
  // every other outstanding request, and when the torrent completes before that runs, the cancel
  // reads the piece picker the completion freed (a SIGSEGV in 1 of about 10 races of 16 hosts,
  // seen in a core dump: cancel_non_critical -> cancel_request -> is_requested on a null picker).
  // A piece priority is checked against completion where it is applied.
  handle_.piece_priority(lt::piece_index_t(index), lt::top_priority);
}

void torrent::hold(bool held) {
  if (held == held_) return;
  held_ = held;
  if (!held) last_progress_ = std::chrono::steady_clock::now();
  try {
    handle_.prioritize_pieces(std::vector<lt::download_priority_t>(
        static_cast<std::size_t>(piece_count()), held ? lt::dont_download : lt::default_priority));
  } catch (const lt::system_error&) {
    // The torrent was removed meanwhile: its readers see the error.
  }
}

// libtorrent 2.0 asks a peer for blocks only on an event on that peer's connection: a HAVE, an
// unchoke, a block arriving, a reject. When the origin's dealer rejects a request (the piece was
// dealt to another host), the blocks go back to the picker, but the other peers that have them,
// hosts already done with the blob that send nothing more, are asked only on libtorrent's
// end-game retry (every 5 s, and only on a connection that could not ask for enough blocks
// before) or never. The host then idles with pieces missing and unchoked peers holding them
// (seen in swarm_pull: 8 of 97 pieces missing, four peers holding all 8, no block asked for,
// until the stall fallback took them from the registry). A piece's priority moving to "don't
// download" and back makes libtorrent weigh its interest in every peer again and ask each
// interesting, unchoking one for blocks (torrent::update_peer_interest -> peer_is_interesting).
// The piece toggled is the first this host got: what it offers peers and whether it counts as
// finished stay as they were (libtorrent counts a piece as had once it is on disk; the first is
// the one most surely written by now).
void torrent::ask_peers_again() {
  if (first_had_ < 0) return;
  try {
    handle_.piece_priority(lt::piece_index_t(first_had_), lt::dont_download);
    handle_.piece_priority(lt::piece_index_t(first_had_), lt::default_priority);
  } catch (const lt::system_error&) {
    // The torrent was removed meanwhile: nothing to ask for.
  }
}

std::string torrent::stall_report() const {
  std::vector<lt::peer_info> peers;
  try {
    handle_.get_peer_info(peers);
  } catch (const lt::system_error&) {
    return "torrent removed";
  }
  int seeds = 0, holding = 0, choking = 0, asked = 0;
  for (const auto& p : peers) {
    if (p.flags & lt::peer_info::seed) ++seeds;
    asked += p.download_queue_length;
    for (int i = 0; i < piece_count(); ++i) {
      if (!have_[static_cast<std::size_t>(i)] && i < p.pieces.size() &&
          p.pieces[lt::piece_index_t(i)]) {
        ++holding;
        if (p.flags & lt::peer_info::remote_choked) ++choking;
        break;
      }
    }
  }
  return fmt::format(
      "{} of {} pieces missing; peers: {} ({} seeds), {} with a missing piece, {} of those "
      "choking this host; {} blocks asked for",
      piece_count() - have_count_, piece_count(), peers.size(), seeds, holding, choking, asked);
}

// ---- session --------------------------------------------------------------

void load_fleet(session_options& opts, const std::string& ca_file, const std::string& cert_file,
                const std::string& key_file) {
  if (ca_file.empty() && cert_file.empty() && key_file.empty()) return;
  if (ca_file.empty() || cert_file.empty() || key_file.empty())
    throw std::runtime_error("a fleet member needs --fleet-ca, --fleet-cert and --fleet-key");
  auto read = [](const std::string& file) {
    auto text = layers::read_small_file(file);
    if (!text || text->find("-----BEGIN") == std::string::npos)
      throw std::runtime_error(file + " is not a readable PEM file");
    return *text;
  };
  opts.fleet_ca_pem = read(ca_file);
  opts.fleet_cert_pem = read(cert_file);
  opts.fleet_key_pem = read(key_file);
}

void apply_override(lt::settings_pack& pack, const std::string& name_value) {
  using sp = lt::settings_pack;
  const auto eq = name_value.find('=');
  const std::string name = name_value.substr(0, eq);
  const int code = eq == std::string::npos ? -1 : lt::setting_by_name(name);
  if (code < 0)
    throw std::invalid_argument("'" + name_value + "' is not NAME=VALUE with a libtorrent setting");
  const std::string value = name_value.substr(eq + 1);
  switch (code & sp::type_mask) {
    case sp::string_type_base:
      pack.set_str(code, value);
      return;
    case sp::bool_type_base:
      if (value != "true" && value != "false")
        throw std::invalid_argument(name + " takes true or false, not '" + value + "'");
      pack.set_bool(code, value == "true");
      return;
    default: {
      int number = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
      if (ec != std::errc() || end != value.data() + value.size())
        throw std::invalid_argument(name + " takes an integer, not '" + value + "'");
      pack.set_int(code, number);
    }
  }
}

bool parse_cidr(const std::string& text, lt::address& first, lt::address& last) {
  const auto slash = text.find('/');
  boost::system::error_code ec;
  const auto address = lt::make_address(text.substr(0, slash), ec);
  if (ec) return false;
  const int width = address.is_v4() ? 32 : 128;
  int bits = width;
  if (slash != std::string::npos) {
    const std::string digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      return false;
    bits = std::stoi(digits);
    if (bits > width) return false;
  }
  auto mask = [&](auto bytes, bool high) {
    for (int i = 0; i < static_cast<int>(bytes.size()); ++i) {
      const int keep = std::clamp(bits - 8 * i, 0, 8);
      const auto host = static_cast<unsigned char>(0xff >> keep);
      bytes[static_cast<std::size_t>(i)] = high ? (bytes[static_cast<std::size_t>(i)] | host)
                                                : (bytes[static_cast<std::size_t>(i)] & ~host);
    }
    return bytes;
  };
  if (address.is_v4()) {
    first = lt::address_v4(mask(address.to_v4().to_bytes(), false));
    last = lt::address_v4(mask(address.to_v4().to_bytes(), true));
  } else {
    first = lt::address_v6(mask(address.to_v6().to_bytes(), false));
    last = lt::address_v6(mask(address.to_v6().to_bytes(), true));
  }
  return true;
}

session::session(asio::io_context& io, session_options opts)
    : io_(io),
      fleet_cert_pem_(opts.fleet_cert_pem),
      fleet_key_pem_(opts.fleet_key_pem),
      fleet_ca_pem_(opts.fleet_ca_pem),
      alive_(std::make_shared<bool>(true)),
      deal_pieces_(opts.deal_pieces),
      end_game_wait_(opts.end_game_wait),
      disk_(opts.disk),
      bans_(std::make_shared<ban_list>()),
      ticker_(io) {
  lt::session_params params(datacenter_settings(opts));
  // Peers come from the tracker only. Peer exchange would hand each host addresses it has no
  // use for (its own, seeds when it is one): every one a TLS handshake to nowhere, hundreds a
  // second on the testbed. Metainfo always comes from the seeder. Smart-ban stays: it bans a
  // peer that sends a corrupt block, and keep_bans makes the ban last.
  params.extensions = {std::make_shared<smart_ban_only>(), keep_bans(bans_)};
  if (opts.disk == disk_backend::pread) params.disk_io_constructor = pread_disk_io;
  if (opts.disk == disk_backend::posix) params.disk_io_constructor = lt::posix_disk_io_constructor;
  lt_ = std::make_unique<lt::session>(std::move(params));
  if (opts.upload_rate_limit > 0 || opts.download_rate_limit > 0) {
    // libtorrent exempts LAN peers from rate limits by default; a datacenter is all LAN, so
    // put every address in the global class that the limits apply to.
    lt::ip_filter all;
    all.add_rule(lt::address_v4::any(), lt::address_v4::broadcast(),
                 1 << static_cast<std::uint32_t>(lt::session::global_peer_class_id));
    all.add_rule(lt::address_v6::any(), all_ones_v6(),
                 1 << static_cast<std::uint32_t>(lt::session::global_peer_class_id));
    lt_->set_peer_class_filter(all);
  }
  if (!opts.peer_allow.empty()) {
    // Everyone is blocked but the listed networks, in both directions.
    lt::ip_filter filter;
    filter.add_rule(lt::address_v4::any(), lt::address_v4::broadcast(), lt::ip_filter::blocked);
    filter.add_rule(lt::address_v6::any(), all_ones_v6(), lt::ip_filter::blocked);
    for (const auto& cidr : opts.peer_allow) {
      lt::address first, last;
      if (!parse_cidr(cidr, first, last))
        throw std::invalid_argument("peer network '" + cidr + "' is not ADDRESS/BITS");
      filter.add_rule(first, last, 0);
    }
    lt_->set_ip_filter(filter);
  }
  std::weak_ptr<bool> alive = alive_;
  lt_->set_alert_notify([this, alive] {
    // libtorrent's thread: only hand over to ours.
    asio::post(io_, [this, alive] {
      if (alive.lock()) drain_alerts();
    });
  });
  asio::co_spawn(io_, tick(alive_), asio::detached);
}

session::~session() {
  alive_.reset();
  ticker_.cancel();
  lt_->set_alert_notify([] {});
}

// A torrent that has received nothing for this long has its peers asked for blocks again, and
// again each time this passes (each ask costs libtorrent a look at every peer's pieces: cheap
// for the few torrents a host fetches at once).
constexpr auto ask_again_after = std::chrono::seconds(1);

asio::awaitable<void> session::tick(std::weak_ptr<bool> alive) {
  // The session may be gone before this first runs (destroyed before the io_context ran).
  for (;;) {
    if (!alive.lock()) co_return;
    ticker_.expires_after(std::chrono::milliseconds(500));
    boost::system::error_code ec;
    co_await ticker_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !alive.lock()) co_return;
    // Statuses come back as a state_update_alert (only torrents that changed): no call here
    // waits for libtorrent's thread.
    lt_->post_torrent_updates();
    const auto now = std::chrono::steady_clock::now();
    for (auto& [d, t] : torrents_) {
      t->notify();  // readers re-check for stalls
      if (!t->complete() && !t->failed() && t->status_.num_peers > 0 &&
          now - t->last_progress_ >= ask_again_after &&
          now - t->asked_again_at_ >= ask_again_after) {
        t->asked_again_at_ = now;
        t->ask_peers_again();
      }
    }
  }
}

void session::update(torrent& t, const lt::torrent_status& st) {
  t.status_ = st;
  // Any change of the counter is a send (it restarts when storage moves); statuses come only
  // for torrents that changed, so a rate read here could stay above zero long after the end.
  if (st.total_payload_upload != t.payload_sent_) {
    t.payload_sent_ = st.total_payload_upload;
    if (st.total_payload_upload > 0) note_upload(t.digest());
  }
  if (t.complete() || t.failed()) return;
  // Progress is any payload arriving, not only whole pieces: with many hosts sharing the
  // origin's link a piece can take seconds while blocks keep coming. Payload of a piece that
  // failed its hash check is taken back, so a peer resending bad data is no progress.
  if (const std::int64_t kept = st.total_payload_download - st.total_failed_bytes;
      kept > t.payload_seen_) {
    t.payload_seen_ = kept;
    t.last_progress_ = std::chrono::steady_clock::now();
    last_progress_ = t.last_progress_;
  }
  // Alone with one peer (the seeder), take pieces in order: nobody to trade with, and the
  // client's stream then keeps pace with the download. With other hosts, rarest-first. Alone
  // means the tracker knows no other downloader either: hosts that started together must not
  // all take the same first pieces from the origin.
  const bool alone = st.num_peers <= 1 && st.num_incomplete >= 0 && st.num_incomplete <= 1;
  if (alone == t.sequential_) return;
  t.sequential_ = alone;
  if (alone) {
    t.handle().set_flags(lt::torrent_flags::sequential_download);
  } else {
    t.handle().unset_flags(lt::torrent_flags::sequential_download);
  }
}

void session::resync() {
  for (auto& [d, t] : torrents_) {
    // Pieces from libtorrent's own view (a blocking call, but alerts are rarely dropped).
    const auto st = t->handle().status(lt::torrent_handle::query_pieces);
    for (int p = 0; p < t->piece_count() && p < st.pieces.size(); ++p) {
      if (st.pieces.get_bit(lt::piece_index_t(p))) t->on_piece(lt::piece_index_t(p));
    }
    // A lost read_piece_alert would leave its reader waiting: ask for those pieces again.
    t->reads_pending_.clear();
    t->notify();
  }
}

std::shared_ptr<torrent> session::add(const layers::digest& d, const std::string& metainfo,
                                      const std::filesystem::path& save_dir, bool seed,
                                      bool keep_web_seeds, std::error_code& ec) {
  if (auto existing = find(d)) {
    std::lock_guard lock(handles_mutex_);
    if (handles_.contains(d)) return existing;
    existing->on_error(make_error_code(errc::blob_unknown));  // its readers must not wait on
    by_handle_.erase(existing->handle());
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
  // A fleet member joins only its fleet's torrents; a host outside any fleet, only open ones.
  const std::string_view ca(ti->ssl_cert().data(), ti->ssl_cert().size());
  if (trimmed(ca) != trimmed(fleet_ca_pem_)) {
    spdlog::warn("{}: the metainfo names {} CA than this host's fleet", d.str(),
                 ca.empty() ? "no" : "another");
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
  if (seed && deal_pieces_)
    atp.extensions.push_back(
        piece_dealer(ti->num_pieces(), ti->piece_length(), ti->total_size(), dealing_));
  if (!seed && end_game_wait_.count() > 0)
    atp.extensions.push_back(second_requests_held(end_game_wait_, second_requests_));
  lt::torrent_handle h = lt_->add_torrent(std::move(atp), lec);
  if (lec) {
    spdlog::warn("libtorrent refused {}: {}", d.str(), lec.message());
    ec = errc::store_failure;
    return nullptr;
  }
  auto t = std::make_shared<torrent>(io_, d, h, static_cast<std::uint64_t>(ti->total_size()),
                                     ti->piece_length(), save_dir / d.hex());
  if (seed) {
    for (int p = 0; p < t->piece_count(); ++p) t->on_piece(lt::piece_index_t(p));
  }
  torrents_.emplace(d, t);
  by_handle_[h] = t;
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
    last_upload_.erase(d);
  }
  std::weak_ptr<bool> alive = alive_;
  asio::post(io_, [this, alive, d, removed] {
    if (!alive.lock()) return;
    auto it = torrents_.find(d);
    if (it == torrents_.end() || it->second->handle() != removed) return;
    it->second->on_error(make_error_code(errc::blob_unknown));
    moving_from_.erase(d);
    by_handle_.erase(removed);
    torrents_.erase(it);
  });
}

std::shared_ptr<torrent> session::find(const layers::digest& d) const {
  auto it = torrents_.find(d);
  return it == torrents_.end() ? nullptr : it->second;
}

std::shared_ptr<torrent> session::by_handle(const lt::torrent_handle& h) const {
  auto it = by_handle_.find(h);
  return it == by_handle_.end() ? nullptr : it->second;
}

void session::adopt_storage(const layers::digest& d, const std::filesystem::path& save_dir) {
  auto t = find(d);
  if (!t) return;
  // Moving the storage onto a file that exists makes libtorrent 2.0 recheck the torrent: it
  // drops every peer and forgets every piece until it has hashed the whole blob again, so a
  // host that finished a layer stopped serving it just when others fetched it from it. The
  // copy takes the place of libtorrent's file instead, as a hard link renamed over it (the same
  // bytes, verified); closing libtorrent's handles frees the file it wrote.
  const std::filesystem::path copy = save_dir / d.hex();
  std::error_code ec, ignored;
  if (std::filesystem::equivalent(copy, t->file_, ignored)) return;  // already the copy
  std::filesystem::path link = t->file_;
  link += ".adopt";
  std::filesystem::remove(link, ignored);
  std::filesystem::create_hard_link(copy, link, ec);
  if (!ec) std::filesystem::rename(link, t->file_, ec);
  std::filesystem::remove(link, ignored);
  try {
    if (!ec) {
      t->handle_.flush_cache();
      return;
    }
    // Another file system, say: move (libtorrent checks the file again).
    spdlog::info("{}: no hard link to the verified copy ({}); moving the torrent's storage",
                 d.str(), ec.message());
    moving_from_[d] = t->file_.parent_path();
    t->file_ = copy;
    t->handle_.move_storage(save_dir.string(), lt::move_flags_t::dont_replace);
  } catch (const lt::system_error& e) {
    // The torrent was removed meanwhile (an eviction on another thread): nothing to point.
    spdlog::info("{}: not seeding from the verified copy: {}", d.str(), e.what());
  }
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
    const auto& st = t->status_;
    out.downloaded += payload(st.all_time_download, st.total_payload_download);
    out.uploaded += payload(st.all_time_upload, st.total_payload_upload);
    out.redundant +=
        static_cast<std::uint64_t>(std::max<std::int64_t>(st.total_redundant_bytes, 0));
  }
  return out;
}

std::uint64_t session::peer_connections() const {
  std::uint64_t out = 0;
  for (const auto& [d, t] : torrents_)
    out += static_cast<std::uint64_t>(std::max(t->status_.num_peers, 0));
  return out;
}

session::blob_stats session::stats(const layers::digest& d) const {
  blob_stats out;
  if (auto t = find(d)) {
    const auto& st = t->status_;
    out.downloaded = payload(st.all_time_download, st.total_payload_download);
    out.uploaded = payload(st.all_time_upload, st.total_payload_upload);
    out.peers = st.num_peers;
    out.seeds = st.num_seeds;
    out.complete = t->complete();
  }
  return out;
}

void session::note_upload(const layers::digest& d) {
  std::lock_guard lock(handles_mutex_);
  if (handles_.contains(d)) last_upload_[d] = std::chrono::steady_clock::now();  // not removed
}

bool session::uploading(const layers::digest& d) const {
  std::lock_guard lock(handles_mutex_);
  auto it = last_upload_.find(d);
  return it != last_upload_.end() && std::chrono::steady_clock::now() - it->second < upload_grace;
}

int session::listen_port() const {
  return fleet() ? lt_->ssl_listen_port() : lt_->listen_port();
}

void session::drain_alerts() {
  std::vector<lt::alert*> alerts;
  lt_->pop_alerts(&alerts);
  for (lt::alert* a : alerts) {
    if (!on_data_alert(a) && !on_fault_alert(a)) on_state_alert(a);
  }
}

bool session::on_data_alert(lt::alert* a) {
  if (auto* p = lt::alert_cast<lt::piece_finished_alert>(a)) {
    if (auto t = by_handle(p->handle)) t->on_piece(p->piece_index);
  } else if (auto* r = lt::alert_cast<lt::read_piece_alert>(a)) {
    if (auto t = by_handle(r->handle)) {
      if (r->error)
        spdlog::warn("reading piece {} of {}: {}", static_cast<int>(r->piece), t->digest().str(),
                     r->error.message());
      t->on_read(r->piece, r->error ? nullptr : r->buffer, r->size);
    }
  } else {
    return false;
  }
  return true;
}

bool session::on_fault_alert(lt::alert* a) {
  if (auto* h = lt::alert_cast<lt::hash_failed_alert>(a)) {
    ++hash_failures_;
    spdlog::warn("piece {} of {} failed its hash check; fetching it again",
                 static_cast<int>(h->piece_index), h->torrent_name());
  } else if (auto* b = lt::alert_cast<lt::peer_ban_alert>(a)) {
    ++peers_banned_;
    bans_->add(b->endpoint);
    spdlog::warn("banned peer {}:{} of {}: it sent corrupt data", b->endpoint.address().to_string(),
                 b->endpoint.port(), b->torrent_name());
  } else if (auto* e = lt::alert_cast<lt::torrent_error_alert>(a)) {
    spdlog::warn("torrent {}: {}", e->torrent_name(), e->error.message());
    if (auto t = by_handle(e->handle)) t->on_error(as_std(e->error));
  } else if (auto* f = lt::alert_cast<lt::file_error_alert>(a)) {
    spdlog::warn("torrent {} file error: {}", f->torrent_name(), f->error.message());
    if (auto t = by_handle(f->handle)) t->on_error(as_std(f->error));
  } else if (auto* mf = lt::alert_cast<lt::storage_moved_failed_alert>(a)) {
    spdlog::warn("moving {} failed: {}", mf->torrent_name(), mf->error.message());
  } else {
    return false;
  }
  return true;
}

bool session::on_state_alert(lt::alert* a) {
  if (auto* c = lt::alert_cast<lt::torrent_need_cert_alert>(a)) {
    // An SSL torrent: join it with this host's fleet certificate (or stay out of it).
    if (fleet()) {
      c->handle.set_ssl_certificate_buffer(fleet_cert_pem_, fleet_key_pem_, ffdhe2048_pem);
    } else {
      spdlog::warn("{} is a fleet (SSL) torrent, but this host has no fleet certificate",
                   c->torrent_name());
    }
  } else if (auto* m = lt::alert_cast<lt::storage_moved_alert>(a)) {
    auto t = by_handle(m->handle);
    auto it = t ? moving_from_.find(t->digest()) : moving_from_.end();
    if (it != moving_from_.end()) {
      std::error_code ignored;
      std::filesystem::remove_all(it->second, ignored);
      moving_from_.erase(it);
    }
  } else if (auto* su = lt::alert_cast<lt::state_update_alert>(a)) {
    for (const auto& st : su->status) {
      if (auto t = by_handle(st.handle)) update(*t, st);
    }
  } else if (lt::alert_cast<lt::alerts_dropped_alert>(a)) {
    ++alerts_dropped_;
    resync();
  } else {
    return false;
  }
  return true;
}

}  // namespace rookery::p2p
