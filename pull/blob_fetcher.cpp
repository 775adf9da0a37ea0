#include "pull/blob_fetcher.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>
#include <vector>

#include "http/offload.hpp"
#include "layers/error.hpp"

namespace rookery::pull {
namespace asio = boost::asio;
namespace {

constexpr std::size_t chunk_bytes = 256 * 1024;  // a fetch holds two of these

// A source's read_some with an exception (libtorrent's, for a torrent removed meanwhile) turned
// into an error: copy_in must wait for its write in flight before it returns.
asio::awaitable<std::size_t> guarded_read(blob_reader& reader, char* data, std::size_t size,
                                          std::error_code& ec) {
  try {
    co_return co_await reader.read_some(data, size, ec);
  } catch (const std::exception& e) {
    spdlog::warn("reading a blob's source failed: {}", e.what());
    ec = make_error_code(errc::upstream_bad_response);
    co_return 0;
  }
}

}  // namespace

fetch::fetch(asio::io_context& io, layers::digest d) : digest(std::move(d)), signal_(io) {
  signal_.expires_at(asio::steady_timer::time_point::max());
}

fetch::~fetch() {
  if (read_fd >= 0) ::close(read_fd);
  for (const int fd : retired_fds_) ::close(fd);
}

void fetch::replace_read_fd(int fd) {
  // A follower may be sending from the old descriptor now; its bytes are the same in both.
  if (read_fd >= 0) retired_fds_.push_back(read_fd);
  read_fd = fd;
}

asio::awaitable<void> fetch::changed() {
  boost::system::error_code ignored;  // cancel() is the wake-up
  co_await signal_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

std::shared_ptr<fetch> blob_fetcher::find(const layers::digest& d) const {
  auto it = inflight_.find(d);
  return it == inflight_.end() ? nullptr : it->second;
}

asio::awaitable<void> blob_fetcher::prepare(blob_request request) {
  if (!store_.contains(request.digest) && !find(request.digest)) co_await source_.prepare(request);
}

asio::awaitable<fetch_start> blob_fetcher::start(const blob_request& request) {
  fetch_start out;
  auto f = find(request.digest);
  out.joined = f != nullptr;
  if (!f) {
    f = std::make_shared<fetch>(io_, request.digest);
    inflight_.emplace(request.digest, f);
    asio::co_spawn(io_, run(f, request), asio::detached);
  } else {
    ++counters_.joined;
  }
  while (f->state == fetch::phase::starting) co_await f->changed();
  if (f->state == fetch::phase::failed && f->written == 0) {
    out.refusal = f->refusal;
    out.error = f->error;
  } else {
    out.job = std::move(f);
  }
  co_return out;
}

void blob_fetcher::finish(const std::shared_ptr<fetch>& f, fetch::phase state, std::error_code ec) {
  f->state = state;
  f->error = ec;
  if (state == fetch::phase::failed) {
    ++counters_.failures;
    source_.failed(f->digest);
  }
  inflight_.erase(f->digest);
  f->notify();
}

asio::awaitable<std::error_code> blob_fetcher::commit(layers::blob_store::writer& writer) {
  // fsync of a large blob takes long: do it on the disk pool, never on the network thread.
  co_return co_await http::offload(io_, disk_, [&writer] { return writer.commit(); });
}

asio::awaitable<std::error_code> blob_fetcher::copy_in(fetch& f, blob_reader& reader,
                                                       layers::blob_store::writer& writer) {
  // Two buffers: while one chunk is hashed and written on the write pool, the network thread
  // reads the next into the other. The network thread only moves bytes. Followers see a chunk
  // as soon as its write is done, not when the next read returns (a stalled swarm can hold
  // that for seconds). Bytes the source left in a file of its own (in_place) are not copied:
  // the writer hashes them there.
  std::array<std::vector<char>, 2> buffers{std::vector<char>(chunk_bytes),
                                           std::vector<char>(chunk_bytes)};
  http::background_job<std::error_code> write(io_);
  std::error_code ec;
  int reopened = -1;     // the temporary file after the writer changed it, for followers
  std::size_t kept = 0;  // bytes of the last chunk that stayed in the source's file
  for (int next = 0;; next ^= 1) {
    // While the last chunk is still being written, read more into this buffer, so a fast
    // source hands over fewer, larger chunks. A chunk counts as from peers or not by its first
    // read, and stops growing when the source changes (one read's bytes are off then). Its
    // first `taken` bytes are in the source's file, the rest in the buffer at the same offsets
    // (a source goes from in place to copies, when it falls back to the registry, never back).
    char* data = buffers[next].data();
    std::size_t n = co_await guarded_read(reader, data, chunk_bytes, ec);
    const bool from_peers = reader.from_peers();
    const std::filesystem::path file = reader.in_place() ? *reader.in_place() : "";
    std::size_t taken = file.empty() ? 0 : n;
    std::size_t more = n;
    while (more > 0 && !ec && n < chunk_bytes && write.busy() &&
           reader.from_peers() == from_peers) {
      more = co_await guarded_read(reader, data + n, chunk_bytes - n, ec);
      n += more;
      if (reader.in_place() && taken == n - more) taken = n;
    }
    if (write.started()) {
      if (auto failed = co_await write.wait()) co_return failed;
    }
    if (ec || n == 0) co_return ec;
    write.start(
        writes_,
        [&writer, &reopened, &kept, data, n, taken, file, changes = writer.file_changes()] {
          std::error_code failed;
          if (taken > 0) failed = writer.take(file, taken);
          kept = taken > 0 && writer.shared() ? taken : 0;
          if (!failed && n > taken) failed = writer.write(data + taken, n - taken);
          if (!failed && writer.file_changes() != changes) {
            reopened = ::open(writer.temp_path().c_str(), O_RDONLY | O_CLOEXEC);
            if (reopened < 0) failed = errc::store_failure;
          }
          return failed;
        },
        [this, &f, &reopened, &kept, n, from_peers](const std::error_code& failed) {
          if (reopened >= 0) f.replace_read_fd(std::exchange(reopened, -1));
          if (!failed) stored(f, n, from_peers, kept);
        });
  }
}

void blob_fetcher::stored(fetch& f, std::size_t n, bool from_peers, std::size_t in_place) {
  // Running once the store took the first bytes: a fetch that cannot write at all (disk
  // full) fails while its clients can still get an error instead of a cut response.
  f.state = fetch::phase::running;
  f.written += n;
  if (from_peers) f.from_peers += n;
  counters_.bytes_fetched += n;
  counters_.bytes_in_place += in_place;
  f.notify();
}

asio::awaitable<void> blob_fetcher::run(std::shared_ptr<fetch> f, blob_request request) {
  if (slots_.full()) ++counters_.queued;
  const auto slot = co_await slots_.acquire();  // held until the fetch ends
  std::error_code ec;
  auto reader = co_await source_.open(request, f->refusal, ec);
  if (!reader) {
    if (ec) ++counters_.source_errors;
    finish(f, fetch::phase::failed, ec);
    co_return;
  }
  ++counters_.fetches;
  f->size = reader->size();
  f->reader = reader.get();
  // The reader goes with this frame, on every way out (an exception too).
  const struct forget_reader {
    fetch& f;
    ~forget_reader() { f.reader = nullptr; }
  } forget{*f};
  auto writer = store_.begin(f->digest, f->size, ec);
  if (writer) {
    f->read_fd = ::open(writer->temp_path().c_str(), O_RDONLY | O_CLOEXEC);
    if (f->read_fd < 0) ec = errc::store_failure;
  }
  if (ec) {
    finish(f, fetch::phase::failed, ec);
    co_return;
  }
  ec = co_await copy_in(*f, *reader, *writer);
  if (!ec) ec = co_await commit(*writer);
  if (ec) {
    const auto os = writer->os_error();
    spdlog::warn("fetch of {} failed after {} bytes: {}{}{}", f->digest.str(), f->written,
                 ec.message(), os ? ": " : "", os ? os.message() : std::string());
    finish(f, fetch::phase::failed, ec);
    co_return;
  }
  spdlog::info("fetched {} ({} bytes)", f->digest.str(), f->written);
  source_.committed(f->digest);
  finish(f, fetch::phase::committed, {});
}

asio::awaitable<std::error_code> blob_fetcher::follow(std::shared_ptr<fetch> f, http::exchange& ex,
                                                      std::uint64_t first, std::uint64_t count) {
  const std::uint64_t end = first + count;
  std::uint64_t sent = first;
  while (sent < end) {
    if (f->state == fetch::phase::failed)
      co_return f->error ? f->error : make_error_code(errc::blob_unknown);
    // Until the blob verified, its final byte stays back: a client that got every byte got
    // a good blob.
    std::uint64_t available = f->written;
    if (f->state != fetch::phase::committed && f->size && available >= *f->size)
      available = *f->size - 1;
    if (available > end) available = end;
    if (available > sent) {
      if (auto ec = co_await ex.send_file(f->read_fd, sent, available - sent)) co_return ec;
      counters_.bytes_streamed += available - sent;
      sent = available;
      continue;
    }
    co_await f->changed();
  }
  co_return std::error_code{};
}

}  // namespace rookery::pull
