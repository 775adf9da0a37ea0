// The libtorrent session both binaries use: one torrent per blob, datacenter settings, alerts
// pumped onto our io_context, and readers that follow a download in order.
#pragma once

#include <utility>  // before Asio: Boost 1.74 needs std::exchange

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/shared_array.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <libtorrent/session.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_status.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "layers/digest.hpp"
#include "p2p/piece_dealer.hpp"
#include "p2p/second_requests.hpp"

namespace rookery::p2p {

class ban_list;

/// How libtorrent reads and writes the blobs' files.
enum class disk_backend {
  /// Each file opened once and kept open, blocks read and written with pread/pwrite on
  /// libtorrent's network thread (p2p/pread_disk_io.hpp).
  pread,
  /// Plain file calls (open, read or write, close per block) on libtorrent's network thread
  /// (its posix_disk_io). Measured on a 2-core VM against mmap: a cold 1 GiB layer through one
  /// proxy at 151-158 MiB/s against 117, and 16 hosts pulling 32 MiB with 11-19 % less proxy
  /// CPU. With mmap, each page a write or read touches first costs a page fault, and every
  /// block goes to a disk thread and back.
  posix,
  /// libtorrent 2.0's default: files memory-mapped, jobs on a pool of disk threads.
  mmap,
};

struct session_options {
  std::string listen = "0.0.0.0:6881";  ///< BitTorrent listen interface(s), libtorrent syntax
  int upload_rate_limit = 0;            ///< bytes/s, 0 = unlimited
  int download_rate_limit = 0;          ///< bytes/s, 0 = unlimited
  int connections_limit = 1000;         ///< room for hundreds of peers
  int unchoke_slots = 64;               ///< peers uploaded to at once
  int origin_request_queue = 32;        ///< blocks a host may have requested from the origin
  bool seeder = false;                  ///< the origin: few upload slots, rotated
  /// The origin deals each piece to one host (p2p/piece_dealer.hpp) and uploads to every host.
  bool deal_pieces = false;
  /// This host's fleet certificate and key (PEM), signed by the fleet CA. When set, the
  /// session speaks BitTorrent over TLS only (libtorrent's SSL torrents): a peer without a
  /// certificate from the same CA gets no connection, let alone a byte.
  std::string fleet_cert_pem;
  std::string fleet_key_pem;
  /// The fleet CA (PEM). A fleet member adds only torrents that name exactly this CA, so a
  /// tampered metainfo cannot lead it into a stranger's swarm.
  std::string fleet_ca_pem;
  /// Peer networks (CIDR, e.g. 10.0.0.0/8) allowed to connect either way; empty: any.
  std::vector<std::string> peer_allow;
  /// libtorrent settings by name, "NAME=VALUE" (--bt-setting), applied over rookery's own:
  /// for tuning and for measuring a setting without a rebuild.
  std::vector<std::string> overrides;
  disk_backend disk = disk_backend::pread;  ///< --bt-disk-io
  /// A host's second request for a block already on its way from another peer (libtorrent's
  /// end game) waits this long, and goes out only if the block is still missing
  /// (p2p/second_requests.hpp); 0: sent at once, as libtorrent does.
  std::chrono::milliseconds end_game_wait{0};
};

/// Applies one "NAME=VALUE" libtorrent setting to `pack`: NAME as libtorrent names it
/// (settings_pack), VALUE an integer, true/false, or a string as the setting's type wants.
/// Throws std::invalid_argument naming what is wrong.
void apply_override(lt::settings_pack& pack, const std::string& name_value);

/// Reads the fleet CA, this host's certificate and its key (PEM files) into `opts`. All three
/// or none: throws std::runtime_error naming what is missing or unreadable.
void load_fleet(session_options& opts, const std::string& ca_file, const std::string& cert_file,
                const std::string& key_file);

/// Parses "ADDRESS/BITS" (or a bare address) into libtorrent's ip_filter form; false when
/// malformed.
bool parse_cidr(const std::string& text, lt::address& first, lt::address& last);

/// One blob's torrent. Owned by the session; shared with readers. io_context thread only.
class torrent {
 public:
  torrent(boost::asio::io_context& io, layers::digest d, lt::torrent_handle h, std::uint64_t size,
          int piece_length, std::filesystem::path file);

  const layers::digest& digest() const noexcept { return digest_; }
  const lt::torrent_handle& handle() const noexcept { return handle_; }
  std::uint64_t size() const noexcept { return size_; }
  int piece_length() const noexcept { return piece_length_; }
  int piece_count() const noexcept { return static_cast<int>(have_.size()); }
  /// Where libtorrent keeps the file.
  const std::filesystem::path& file() const noexcept { return file_; }
  /// Bytes [0, n) are all in verified pieces.
  std::uint64_t contiguous() const noexcept;
  bool complete() const noexcept { return have_count_ == piece_count(); }
  /// Bytes in verified pieces, wherever they are in the blob.
  std::uint64_t verified_bytes() const noexcept {
    return std::min<std::uint64_t>(
        size_, static_cast<std::uint64_t>(have_count_) * static_cast<std::uint64_t>(piece_length_));
  }
  bool failed() const noexcept { return static_cast<bool>(error_); }
  std::error_code error() const noexcept { return error_; }
  std::chrono::steady_clock::time_point last_progress() const noexcept { return last_progress_; }

  /// Resumes on the next event: a piece arrived, an error, or the session's periodic tick.
  boost::asio::awaitable<void> changed();
  /// A verified piece's bytes, read through libtorrent (its disk cache may hold bytes the file
  /// does not have yet). Asks for it and returns null until it arrives; piece() reports it.
  struct piece_data {
    boost::shared_array<char> bytes;
    int size = 0;
  };
  const piece_data* piece(lt::piece_index_t index);
  /// Forgets a piece read earlier (the reader is done with it).
  void release(lt::piece_index_t index) { pieces_read_.erase(static_cast<int>(index)); }
  /// The piece holding byte `offset`, and the offset where a piece starts.
  lt::piece_index_t piece_at(std::uint64_t offset) const noexcept {
    return lt::piece_index_t(static_cast<int>(offset / static_cast<std::uint64_t>(piece_length_)));
  }
  std::uint64_t piece_start(lt::piece_index_t index) const noexcept {
    return static_cast<std::uint64_t>(static_cast<int>(index)) *
           static_cast<std::uint64_t>(piece_length_);
  }

  bool has(lt::piece_index_t index) const noexcept {
    const int i = static_cast<int>(index);
    return i >= 0 && i < piece_count() && have_[static_cast<std::size_t>(i)];
  }
  /// The bytes of a piece taken from elsewhere (the registry): libtorrent checks them against
  /// the piece's hash, writes them and offers the piece to peers as if a peer had sent it.
  void add_piece(lt::piece_index_t index, std::vector<char> bytes);
  std::uint64_t piece_size(lt::piece_index_t index) const noexcept {
    return std::min<std::uint64_t>(piece_length_, size_ - piece_start(index));
  }

  /// Makes the piece holding byte `offset` urgent (top piece priority), for a reader blocked
  /// there. Everything else comes rarest-first: hosts that all asked for the same next piece
  /// would all fetch it from the seeder and have nothing to trade.
  void want(std::uint64_t offset);

  /// A held torrent is in its swarm (tracker, peers, the seeder's connection) but asks for no
  /// piece: it is not interested in any peer, so the origin's dealer deals it nothing yet.
  /// Holding it drops every piece priority; letting it go sets them back to the default (and
  /// counts as progress: a reader's stall clock starts then).
  void hold(bool held);
  bool held() const noexcept { return held_; }

  /// Makes libtorrent ask every unchoked peer that has a missing piece for blocks again (see
  /// session.cpp: after a peer rejects a request, the others are not asked). Needs a piece this
  /// host has; does nothing without one.
  void ask_peers_again();

  /// Why nothing arrives, for a stall warning: pieces missing, peers, and what the peers that
  /// have a missing piece are doing. Asks libtorrent (a blocking call): for rare events only.
  std::string stall_report() const;

 private:
  friend class session;
  void on_piece(lt::piece_index_t piece);
  void on_error(std::error_code ec);
  void on_read(lt::piece_index_t index, boost::shared_array<char> bytes, int size);
  void notify() { signal_.cancel(); }

  layers::digest digest_;
  lt::torrent_handle handle_;
  std::uint64_t size_;
  int piece_length_;
  std::filesystem::path file_;
  std::vector<bool> have_;
  int have_count_ = 0;
  int next_missing_ = 0;
  std::unordered_map<int, bool> urgent_;
  bool sequential_ = false;
  bool held_ = false;
  std::error_code error_;
  std::unordered_map<int, piece_data> pieces_read_;  ///< bounded by the readers: one each
  std::unordered_map<int, bool> reads_pending_;
  std::chrono::steady_clock::time_point last_progress_;
  std::chrono::steady_clock::time_point asked_again_at_;  ///< the last ask_peers_again()
  int first_had_ = -1;             ///< the first piece that arrived (ask_peers_again toggles it)
  std::int64_t payload_seen_ = 0;  ///< most payload received and not failed, so far
  std::int64_t payload_sent_ = 0;  ///< payload bytes sent when an upload was last noted
  lt::torrent_status status_;      ///< libtorrent's last word (state_update_alert), never asked
  boost::asio::steady_timer signal_;
};

/// Bytes a session moved, summed over its torrents.
struct transfer_totals {
  std::uint64_t downloaded = 0;  ///< payload from peers
  std::uint64_t uploaded = 0;    ///< payload to peers
  std::uint64_t redundant = 0;   ///< payload received that this host had already (endgame)
};

/// Wraps lt::session. Construct and use on the io_context thread; libtorrent's own threads only
/// post to it.
class session {
 public:
  session(boost::asio::io_context& io, session_options opts);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// Adds the torrent for blob `d` from its metainfo, with its file in `save_dir` (the file is
  /// named by the digest's hex). `seed` trusts that the file is complete (no hashing pass).
  /// Web seeds in the metainfo are dropped unless `keep_web_seeds`.
  std::shared_ptr<torrent> add(const layers::digest& d, const std::string& metainfo,
                               const std::filesystem::path& save_dir, bool seed,
                               bool keep_web_seeds, std::error_code& ec);
  std::shared_ptr<torrent> find(const layers::digest& d) const;
  /// Stops the torrent of `d` (no more bytes to or from peers) and forgets it; its file stays.
  /// Readers following it see an error. Safe from any thread: a store's eviction hook calls it
  /// before the blob's file goes.
  void remove(const layers::digest& d);
  /// Makes a complete torrent seed from `save_dir`'s copy of its blob (a verified copy, e.g. the
  /// store's), so the blob is not kept twice on disk: the copy takes the place of libtorrent's
  /// file under its name (a hard link), and libtorrent keeps its peers and pieces. Where no hard
  /// link can be made, the storage moves to `save_dir` instead (libtorrent then checks the file
  /// again) and the old directory is deleted.
  void adopt_storage(const layers::digest& d, const std::filesystem::path& save_dir);

  transfer_totals totals() const;
  /// When any torrent last received payload: a busy swarm is not a dead one.
  std::chrono::steady_clock::time_point last_progress() const noexcept { return last_progress_; }
  /// Per-blob payload counters, for /v1/status.
  struct blob_stats {
    std::uint64_t downloaded = 0, uploaded = 0;
    int peers = 0, seeds = 0;
    bool complete = false;
  };
  blob_stats stats(const layers::digest& d) const;
  /// Whether the torrent of `d` sent payload to a peer within the last upload_grace: evicting
  /// it now would cut a peer off mid-transfer. Safe from any thread (a store's in_use hook).
  bool uploading(const layers::digest& d) const;
  /// How long after its last payload sent a torrent still counts as uploading (statuses come
  /// every 500 ms, and a peer pauses between requests).
  static constexpr std::chrono::seconds upload_grace{3};
  std::size_t torrent_count() const noexcept { return torrents_.size(); }
  /// Peer connections summed over the torrents (one host in two swarms counts twice), from
  /// libtorrent's last status update.
  std::uint64_t peer_connections() const;
  std::uint64_t hash_failures() const noexcept { return hash_failures_; }
  /// Peers libtorrent banned for sending corrupt data (smart-ban).
  std::uint64_t peers_banned() const noexcept { return peers_banned_; }
  std::uint64_t alerts_dropped() const noexcept { return alerts_dropped_; }
  /// What the origin's piece dealer did (all zero unless session_options::deal_pieces).
  const dealer_counters& dealing() const noexcept { return *dealing_; }
  /// What this host's torrents did with second requests in the end game (end_game_wait).
  const second_request_counters& second_requests() const noexcept { return *second_requests_; }
  const std::unordered_map<layers::digest, std::shared_ptr<torrent>>& all() const {
    return torrents_;
  }
  /// The port libtorrent listens on (after binding port 0, the chosen one); the TLS port
  /// when the session is a fleet member.
  int listen_port() const;
  /// Whether a piece is in its torrent's file once libtorrent reports it verified: pread and
  /// posix write each block before the piece is hashed; mmap may still hold it in a buffer.
  bool verified_in_file() const noexcept { return disk_ != disk_backend::mmap; }
  /// True when torrents are SSL torrents joined with a fleet certificate.
  bool fleet() const noexcept { return !fleet_cert_pem_.empty(); }

 private:
  void drain_alerts();
  // drain_alerts' three kinds; each returns whether `a` was of its kind.
  /// Pieces verified and pieces read: what readers wait for.
  bool on_data_alert(lt::alert* a);
  /// Corrupt pieces, banned peers, torrent and file errors.
  bool on_fault_alert(lt::alert* a);
  /// Fleet certificates, finished moves, status updates, dropped alerts.
  bool on_state_alert(lt::alert* a);
  boost::asio::awaitable<void> tick(std::weak_ptr<bool> alive);
  std::shared_ptr<torrent> by_handle(const lt::torrent_handle& h) const;
  /// A torrent's new status: progress, and in-order picking while it is alone.
  void update(torrent& t, const lt::torrent_status& st);
  /// Records that `d` sent payload just now (for uploading()).
  void note_upload(const layers::digest& d);
  /// After libtorrent dropped alerts: pieces and reads may be among them.
  void resync();

  boost::asio::io_context& io_;
  std::unique_ptr<lt::session> lt_;
  std::unordered_map<layers::digest, std::shared_ptr<torrent>> torrents_;
  std::unordered_map<lt::torrent_handle, std::shared_ptr<torrent>> by_handle_;
  std::unordered_map<layers::digest, std::filesystem::path> moving_from_;
  std::string fleet_cert_pem_, fleet_key_pem_, fleet_ca_pem_;
  mutable std::mutex handles_mutex_;  ///< guards handles_, the one map other threads touch
  std::unordered_map<layers::digest, lt::torrent_handle> handles_;
  /// When each torrent last sent payload; guarded by handles_mutex_.
  std::unordered_map<layers::digest, std::chrono::steady_clock::time_point> last_upload_;
  std::shared_ptr<bool> alive_;
  bool deal_pieces_;
  std::chrono::milliseconds end_game_wait_;
  disk_backend disk_;
  std::shared_ptr<dealer_counters> dealing_ = std::make_shared<dealer_counters>();
  std::shared_ptr<second_request_counters> second_requests_ =
      std::make_shared<second_request_counters>();
  std::uint64_t hash_failures_ = 0;
  std::uint64_t peers_banned_ = 0;
  std::shared_ptr<ban_list> bans_;  ///< hosts banned for corrupt data
  std::uint64_t alerts_dropped_ = 0;
  boost::asio::steady_timer ticker_;
  std::chrono::steady_clock::time_point last_progress_ = std::chrono::steady_clock::now();
};

}  // namespace rookery::p2p
