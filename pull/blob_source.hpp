// Where a blob that is not cached comes from. The proxy asks one blob_source; the first
// implementation pulls from the upstream registry over HTTP, the P2P swarm plugs in here too.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "http/client.hpp"
#include "layers/digest.hpp"
#include "pull/refusal.hpp"
#include "pull/upstream.hpp"

namespace rookery::pull {

struct blob_request {
  upstream* from = nullptr;
  std::string repository;
  layers::digest digest;
  std::string authorization;  ///< the client's, may be empty
};

/// A blob's bytes in order from offset 0.
class blob_reader {
 public:
  virtual ~blob_reader() = default;
  /// Total size when the source announced it.
  virtual std::optional<std::uint64_t> size() const = 0;
  /// Up to `size` bytes; 0 with no error at the end.
  virtual boost::asio::awaitable<std::size_t> read_some(void* data, std::size_t size,
                                                        std::error_code& ec) = 0;
  /// Whether the bytes the last read_some returned came from BitTorrent peers (else from the
  /// upstream registry).
  virtual bool from_peers() const { return false; }
  /// Bytes of the blob the source holds, read or not (a swarm verifies pieces ahead of the one
  /// read next); 0 when it does not know (fetch::held takes the larger of this and written).
  virtual std::uint64_t held() const { return 0; }
  /// The file the source itself writes the blob into (a torrent's download), when the bytes
  /// the last read_some counted are final there, at the same offsets, and were not copied into
  /// `data`: the store then keeps that file instead of a copy. Null: the bytes are in `data`.
  /// Once null, it stays null.
  virtual const std::filesystem::path* in_place() const { return nullptr; }
};

/// Blob bytes a source delivered, by where they came from.
struct source_bytes {
  std::uint64_t peers = 0;     ///< BitTorrent peers (other hosts, the seeder)
  std::uint64_t upstream = 0;  ///< the upstream registry over HTTP
};

/// Opens blobs. `open` returns a reader, or null with either `refusal.status` set (relay it)
/// or `ec` set (unreachable, bad response).
class blob_source {
 public:
  virtual ~blob_source() = default;
  virtual boost::asio::awaitable<std::unique_ptr<blob_reader>> open(const blob_request& request,
                                                                    upstream_refusal& refusal,
                                                                    std::error_code& ec) = 0;
  /// The blob will be opened later (its fetch waits for its turn, pull/fetch_stagger.hpp): the
  /// source may get ready meanwhile, e.g. join its swarm without downloading yet. open() with
  /// the same request then finds it ready; committed() or failed() ends what prepare began.
  virtual boost::asio::awaitable<void> prepare(const blob_request&) { co_return; }
  /// Called once the blob the source delivered is verified and committed to the store.
  virtual void committed(const layers::digest&) {}
  /// Called when a fetch the source served failed (nothing was committed): drop its state.
  virtual void failed(const layers::digest&) {}
  virtual source_bytes bytes() const = 0;
};

/// Upstream blob bodies that broke off and were asked for again from where they stopped
/// (process-wide, for the metrics).
std::uint64_t upstream_resumes() noexcept;

/// Pulls blobs with GET from the request's upstream registry (following redirects). A body
/// that breaks off is asked for again with a Range from where it stopped, up to 5 times.
class upstream_blob_source final : public blob_source {
 public:
  boost::asio::awaitable<std::unique_ptr<blob_reader>> open(const blob_request& request,
                                                            upstream_refusal& refusal,
                                                            std::error_code& ec) override;
  source_bytes bytes() const override { return {0, bytes_}; }

  /// A GET of the blob from byte `first` on, through byte `last` when given (Range unless that
  /// is the whole blob; a registry may answer a slice from byte 0 with the whole blob, of which
  /// the caller reads what it asked for), as a reader. Shared with other sources that fall back
  /// to upstream. `counter` (may be null) counts bytes read.
  static boost::asio::awaitable<std::unique_ptr<blob_reader>> open_range(
      const blob_request& request, std::uint64_t first, std::optional<std::uint64_t> last,
      std::uint64_t* counter, upstream_refusal& refusal, std::error_code& ec);

 private:
  std::uint64_t bytes_ = 0;
};

}  // namespace rookery::pull
