// One fetch per missing blob, however many clients ask: the fetch writes the blob into the
// store's temporary file (or has the store take the file a source wrote it to, see
// blob_reader::in_place) while every client streams from that file, and the blob is
// committed under its digest only after it verified. The last byte is held back from clients
// until then, so no client ever receives a complete, wrong blob.
#pragma once

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "http/server.hpp"
#include "layers/blob_store.hpp"
#include "pull/blob_source.hpp"
#include "pull/concurrency_limit.hpp"

namespace rookery::pull {

/// What the fetcher counts. Plain integers: the io_context thread only.
struct fetch_counters {
  std::uint64_t bytes_fetched = 0;  ///< from the source
  /// Of bytes_fetched, taken in the source's own file without a copy (a source that then
  /// falls back to the registry has them copied after all).
  std::uint64_t bytes_in_place = 0;
  std::uint64_t bytes_streamed = 0;  ///< to clients following a fetch
  std::uint64_t fetches = 0;         ///< started against the source
  std::uint64_t joined = 0;          ///< requests that shared an in-flight fetch
  std::uint64_t failures = 0;        ///< fetches that failed or did not verify
  std::uint64_t source_errors = 0;   ///< source unreachable or unusable
  std::uint64_t queued = 0;          ///< fetches that waited for a free place first
};

/// Shared state of one in-flight fetch. Lives on the io_context thread.
struct fetch {
  /// starting: queued, opening the source, or waiting for the first bytes to be stored;
  /// running: bytes are in the temporary file (clients may stream them).
  enum class phase { starting, running, committed, failed };

  fetch(boost::asio::io_context& io, layers::digest d);
  ~fetch();
  void notify() { signal_.cancel(); }
  /// Resumes at the next change (bytes arrived, phase changed).
  boost::asio::awaitable<void> changed();

  layers::digest digest;
  phase state = phase::starting;
  std::optional<std::uint64_t> size;  ///< known once running, when the source announced it
  std::uint64_t written = 0;
  std::uint64_t from_peers = 0;         ///< of `written`, bytes BitTorrent peers delivered
  const blob_reader* reader = nullptr;  ///< the source's reader, while the fetch runs
  /// Bytes of the blob this host has so far: written, or more that the source holds ahead.
  std::uint64_t held() const { return std::max(written, reader ? reader->held() : 0); }
  int read_fd = -1;  ///< the temporary file, for followers (pread/sendfile)
  /// The temporary file came to be another file holding the same bytes so far (see
  /// blob_store::writer::file_changes): `fd` becomes read_fd; the old one stays open until the
  /// fetch ends.
  void replace_read_fd(int fd);
  upstream_refusal refusal;  ///< when the source refused
  std::error_code error;     ///< when the fetch failed

 private:
  boost::asio::steady_timer signal_;
  std::vector<int> retired_fds_;
};

/// What blob_fetcher::start gives back.
struct fetch_start {
  std::shared_ptr<pull::fetch> job;  ///< running or finished; null when it could not start
  upstream_refusal refusal;          ///< when null: the source's refusal to relay (status set), or
  std::error_code error;             ///< why else it could not start
  bool joined = false;               ///< another request started it
};

/// At most `max_fetches` fetches talk to their source at once (0: no limit); later ones wait in
/// arrival order, with their clients, in phase::starting.
class blob_fetcher {
 public:
  static constexpr std::size_t default_max_fetches = 16;

  blob_fetcher(boost::asio::io_context& io, layers::blob_store& store, blob_source& source,
               boost::asio::thread_pool& disk, std::size_t max_fetches = default_max_fetches)
      : io_(io), store_(store), source_(source), disk_(disk), slots_(io, max_fetches) {}

  /// The in-flight fetch of `d`, if any.
  std::shared_ptr<fetch> find(const layers::digest& d) const;

  /// Joins the in-flight fetch of the request's digest or starts one, and waits until the
  /// source answered.
  boost::asio::awaitable<fetch_start> start(const blob_request& request);

  /// Lets the source get ready for a fetch of the request's blob that starts later (see
  /// blob_source::prepare), unless the blob is stored or its fetch under way.
  boost::asio::awaitable<void> prepare(blob_request request);

  /// Streams bytes [first, first + count) of a running fetch to `ex` (header already sent),
  /// waiting for bytes as they arrive. An error means the response must be abandoned.
  boost::asio::awaitable<std::error_code> follow(std::shared_ptr<fetch> f, http::exchange& ex,
                                                 std::uint64_t first, std::uint64_t count);

  std::size_t inflight() const noexcept { return inflight_.size(); }
  /// Fetches waiting for a free place.
  std::size_t queued() const noexcept { return slots_.waiting(); }
  const fetch_counters& counters() const noexcept { return counters_; }
  /// Digest, bytes written and size of each fetch in progress, for /v1/status.
  const std::unordered_map<layers::digest, std::shared_ptr<fetch>>& all() const {
    return inflight_;
  }

 private:
  boost::asio::awaitable<void> run(std::shared_ptr<fetch> f, blob_request request);
  /// Reads the source to its end into the writer; the error that stopped it, if any.
  boost::asio::awaitable<std::error_code> copy_in(fetch& f, blob_reader& reader,
                                                  layers::blob_store::writer& writer);
  /// Counts `n` more bytes as stored, `in_place` of them without a copy.
  void stored(fetch& f, std::size_t n, bool from_peers, std::size_t in_place);
  boost::asio::awaitable<std::error_code> commit(layers::blob_store::writer& writer);
  void finish(const std::shared_ptr<fetch>& f, fetch::phase state, std::error_code ec);

  boost::asio::io_context& io_;
  layers::blob_store& store_;
  blob_source& source_;
  boost::asio::thread_pool& disk_;
  fetch_counters counters_;
  concurrency_limit slots_;
  std::unordered_map<layers::digest, std::shared_ptr<fetch>> inflight_;
  /// Hashes and writes fetched chunks, so the io_context thread only moves bytes. Its own
  /// threads: the shared disk pool also fsyncs and re-hashes whole cached blobs.
  boost::asio::thread_pool writes_{2};
};

}  // namespace rookery::pull
