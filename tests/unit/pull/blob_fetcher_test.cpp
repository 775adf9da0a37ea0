#include "pull/blob_fetcher.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <cstring>
#include <fstream>
#include <iterator>

#include <boost/asio/detached.hpp>

#include "tests/unit/pull/held_source.hpp"
#include "tests/unit/run_until.hpp"

using namespace rookery;
namespace asio = boost::asio;

namespace {

using test::run_until;

asio::awaitable<void> ask(pull::blob_fetcher& fetcher, pull::blob_request request) {
  co_await fetcher.start(request);
}

// A fetcher over a held_source and a store in a temporary directory.
struct fetcher_rig {
  explicit fetcher_rig(std::size_t max_fetches = pull::blob_fetcher::default_max_fetches)
      : fetcher(io, store, source, disk, max_fetches) {}
  asio::io_context io;
  test::temp_dir dir;
  layers::blob_store store{{dir.path}};
  test::held_source source{io};
  asio::thread_pool disk{1};
  pull::blob_fetcher fetcher;
};

// Fetches `d` and waits for the fetch to end; the stored blob's bytes.
std::string fetch_stored(asio::io_context& io, pull::blob_fetcher& fetcher,
                         layers::blob_store& store, const layers::digest& d) {
  asio::co_spawn(io, ask(fetcher, {nullptr, "demo/app", d, ""}), asio::detached);
  run_until(io, [&] { return store.contains(d) || fetcher.counters().failures > 0; });
  run_until(io, [&] { return fetcher.inflight() == 0; });
  auto lease = store.open(d);
  REQUIRE(lease);
  std::string stored(lease->size(), '\0');
  REQUIRE(::pread(lease->fd(), stored.data(), stored.size(), 0) ==
          static_cast<ssize_t>(stored.size()));
  return stored;
}

}  // namespace

TEST_CASE("blob_fetcher lets only max_fetches fetches reach the source at once", "[blob_fetcher]") {
  fetcher_rig rig(2);
  auto& [io, dir, store, source, disk, fetcher] = rig;
  std::vector<layers::digest> digests;
  for (int i = 0; i < 5; ++i) {
    digests.push_back(source.add("blob " + std::to_string(i)));
    const pull::blob_request request{nullptr, "demo/app", digests.back(), ""};
    asio::co_spawn(io, ask(fetcher, request), asio::detached);
  }
  run_until(io, [&] { return source.open_now() == 2; });
  io.poll();
  CHECK(source.opened() == 2);
  CHECK(fetcher.queued() == 3);
  CHECK(fetcher.inflight() == 5);  // queued fetches are joinable, not refused
  source.release();
  run_until(io, [&] { return store.blob_count() == 5; });
  CHECK(source.max_open() == 2);
  CHECK(fetcher.counters().queued == 3);
  CHECK(fetcher.counters().fetches == 5);
  run_until(io, [&] { return fetcher.inflight() == 0; });  // no reader outlives the source
}

TEST_CASE("blob_fetcher with no limit opens every fetch at once", "[blob_fetcher]") {
  fetcher_rig rig(0);
  auto& [io, dir, store, source, disk, fetcher] = rig;
  for (int i = 0; i < 20; ++i) {
    const pull::blob_request request{nullptr, "demo/app", source.add(std::to_string(i)), ""};
    asio::co_spawn(io, ask(fetcher, request), asio::detached);
  }
  run_until(io, [&] { return source.open_now() == 20; });
  source.release();
  run_until(io, [&] { return store.blob_count() == 20; });
  CHECK(fetcher.counters().queued == 0);
  run_until(io, [&] { return fetcher.inflight() == 0; });
}

TEST_CASE("blob_fetcher stores a blob of many chunks byte for byte", "[blob_fetcher]") {
  // Chunks are hashed and written on the fetcher's own threads while the next is read: the
  // stored blob must still be every byte in order, and commit only after the last.
  fetcher_rig rig;
  auto& [io, dir, store, source, disk, fetcher] = rig;
  std::string content;
  for (std::size_t i = 0; content.size() < (3 << 20) + 7; ++i) content += std::to_string(i * i);
  const auto d = source.add(content);
  source.release();
  CHECK(fetch_stored(io, fetcher, store, d) == content);
  CHECK(fetcher.counters().bytes_fetched == content.size());
  CHECK(fetcher.counters().failures == 0);
}

namespace {

// A source that writes each blob into a file of its own, like a torrent's download, and hands
// the fetcher the bytes there (in_place) up to `switch_at`, the rest in the buffer (like a
// swarm that stalled and fell back to the registry). From `switch_at` on its own file holds
// other bytes, so bytes taken from the wrong place cannot make the blob.
class file_source final : public pull::blob_source {
 public:
  file_source(std::filesystem::path dir, std::string content, std::size_t switch_at)
      : file_(std::move(dir) / "download"), content_(std::move(content)), switch_at_(switch_at) {
    std::string on_disk = content_;
    for (std::size_t i = switch_at_; i < on_disk.size(); ++i) on_disk[i] = '?';
    std::ofstream(file_, std::ios::binary) << on_disk;
  }
  const std::filesystem::path& file() const { return file_; }
  asio::awaitable<std::unique_ptr<pull::blob_reader>> open(const pull::blob_request&,
                                                           pull::upstream_refusal&,
                                                           std::error_code&) override {
    co_return std::make_unique<reader>(*this);
  }
  pull::source_bytes bytes() const override { return {}; }

 private:
  class reader final : public pull::blob_reader {
   public:
    explicit reader(const file_source& source) : source_(source) {}
    std::optional<std::uint64_t> size() const override { return source_.content_.size(); }
    asio::awaitable<std::size_t> read_some(void* data, std::size_t size,
                                           std::error_code&) override {
      // Small reads, so chunks grow over several and some straddle the switch.
      const std::size_t end =
          at_ < source_.switch_at_ ? source_.switch_at_ : source_.content_.size();
      const std::size_t n = std::min({size, end - at_, std::size_t{100000}});
      in_place_ = at_ < source_.switch_at_;
      if (!in_place_) std::memcpy(data, source_.content_.data() + at_, n);
      at_ += n;
      co_return n;
    }
    const std::filesystem::path* in_place() const override {
      return in_place_ ? &source_.file_ : nullptr;
    }

   private:
    const file_source& source_;
    std::size_t at_ = 0;
    bool in_place_ = true;
  };

  std::filesystem::path file_;
  std::string content_;
  std::size_t switch_at_;
};

std::string blob_content() {
  std::string content;
  for (std::size_t i = 0; content.size() < (2 << 20) + 11; ++i) content += std::to_string(i * 7);
  return content;
}

}  // namespace

TEST_CASE("blob_fetcher keeps a source's own file as the blob, and copies after a switch",
          "[blob_fetcher]") {
  const std::string content = blob_content();
  const auto d = layers::digest_of(content);
  const std::size_t halves = GENERATE(0, 1, 2);  // in place: none, half, all
  const std::size_t switch_at = content.size() * halves / 2;
  CAPTURE(switch_at);
  asio::io_context io;
  test::temp_dir dir, elsewhere;
  layers::blob_store store{{dir.path}};
  file_source source(elsewhere.path, content, switch_at);
  asio::thread_pool disk{1};
  pull::blob_fetcher fetcher(io, store, source, disk);
  CHECK(fetch_stored(io, fetcher, store, d) == content);
  CHECK(fetcher.counters().failures == 0);
  struct stat blob {
  }, own{};
  REQUIRE(::stat((store.directory(d.algorithm()) / d.hex()).c_str(), &blob) == 0);
  REQUIRE(::stat(source.file().c_str(), &own) == 0);
  // Wholly in place: one file, no copy. Otherwise the source's file kept its own bytes.
  CHECK((blob.st_ino == own.st_ino) == (switch_at == content.size()));
  CHECK(fetcher.counters().bytes_in_place == switch_at);  // a switch copies them after all
  std::ifstream in(source.file(), std::ios::binary);
  const std::string own_bytes{std::istreambuf_iterator<char>(in), {}};
  CHECK(own_bytes.size() == content.size());
  CHECK(own_bytes.compare(0, switch_at, content, 0, switch_at) == 0);
  CHECK(own_bytes.find_first_not_of('?', switch_at) == std::string::npos);
}
