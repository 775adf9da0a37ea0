#include "layers/blob_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>
#include <vector>

#include "layers/error.hpp"

namespace rookery::layers {
namespace fs = std::filesystem;

namespace {

// How much a writer lets pile up in the page cache before it starts the writeback.
constexpr std::uint64_t writeback_bytes = 8 << 20;
// How much writer::take reads at a time.
constexpr std::size_t take_chunk = 1 << 20;

// A new, empty temporary file in `dir` for a blob of `d`: its descriptor (or -1, errno set),
// and its name in `path`.
int make_temp(const fs::path& dir, const digest& d, fs::path& path) {
  std::string pattern = (dir / (d.hex().substr(0, 16) + ".XXXXXX")).string();
  const int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
  path = std::move(pattern);
  return fd;
}

std::error_code sync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return {errno, std::system_category()};
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  return rc == 0 ? std::error_code{} : std::error_code{saved, std::system_category()};
}

}  // namespace

// ---- lease ----------------------------------------------------------------

blob_store::lease::lease(lease&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)),
      digest_(other.digest_),
      fd_(std::exchange(other.fd_, -1)),
      size_(other.size_),
      verified_(other.verified_) {}

blob_store::lease& blob_store::lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    release();
    store_ = std::exchange(other.store_, nullptr);
    digest_ = other.digest_;
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
    verified_ = other.verified_;
  }
  return *this;
}

blob_store::lease::~lease() {
  release();
}

void blob_store::lease::release() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (store_) store_->unpin(digest_);
  store_ = nullptr;
}

// ---- writer ---------------------------------------------------------------

blob_store::writer::writer(blob_store* store, layers::digest d,
                           std::optional<std::uint64_t> expected, int fd, fs::path temp)
    : store_(store),
      digest_(std::move(d)),
      expected_(expected),
      fd_(fd),
      temp_path_(std::move(temp)),
      hasher_(digest_.algorithm()) {}

blob_store::writer::writer(writer&& other) noexcept
    : store_(other.store_),
      digest_(other.digest_),
      expected_(other.expected_),
      fd_(std::exchange(other.fd_, -1)),
      temp_path_(other.temp_path_),
      hasher_(std::move(other.hasher_)),
      written_(other.written_),
      flushed_(other.flushed_),
      os_error_(other.os_error_),
      done_(std::exchange(other.done_, true)),
      shared_(other.shared_),
      source_fd_(std::exchange(other.source_fd_, -1)),
      file_changes_(other.file_changes_),
      buffer_(std::move(other.buffer_)) {}

blob_store::writer::~writer() {
  if (fd_ >= 0) ::close(fd_);
  if (source_fd_ >= 0) ::close(source_fd_);
  if (!done_) {
    std::error_code ignored;
    fs::remove(temp_path_, ignored);
  }
}

std::error_code blob_store::writer::os_failure() {
  os_error_ = {errno, std::system_category()};
  return errc::store_failure;
}

std::error_code blob_store::writer::write(const void* data, std::size_t size) {
  if (done_ || fd_ < 0) return errc::store_failure;
  if (expected_ && written_ + size > *expected_) return errc::size_invalid;
  if (shared_) {
    if (auto ec = detach()) return ec;
  }
  return append(data, size);
}

std::error_code blob_store::writer::append(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  std::size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_failure();
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  hasher_.update(data, size);
  written_ += size;
  start_writeback();
  return {};
}

void blob_store::writer::start_writeback() {
  if (written_ - flushed_ < writeback_bytes) return;
  // Only starts the writeback (no wait); a failure shows again at fsync.
  ::sync_file_range(fd_, static_cast<off_t>(flushed_), static_cast<off_t>(written_ - flushed_),
                    SYNC_FILE_RANGE_WRITE);
  flushed_ = written_;
}

std::error_code blob_store::writer::take(const fs::path& file, std::size_t size) {
  if (done_ || fd_ < 0) return errc::store_failure;
  if (expected_ && written_ + size > *expected_) return errc::size_invalid;
  if (!shared_ && source_fd_ < 0 && !(written_ == 0 && link_to(file))) {
    source_fd_ = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (source_fd_ < 0) return os_failure();
  }
  // Shared: hash the bytes where they are. Else: copy them (append hashes).
  const int from = shared_ ? fd_ : source_fd_;
  buffer_.resize(std::min<std::size_t>(size, take_chunk));
  for (std::size_t left = size; left > 0;) {
    const ssize_t n =
        ::pread(from, buffer_.data(), std::min(left, buffer_.size()), static_cast<off_t>(written_));
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_failure();
    }
    if (n == 0) return errc::size_invalid;  // the file ends before the bytes handed over
    const auto got = static_cast<std::size_t>(n);
    left -= got;
    if (!shared_) {
      if (auto ec = append(buffer_.data(), got)) return ec;
      continue;
    }
    hasher_.update(buffer_.data(), got);
    written_ += got;
  }
  if (shared_) start_writeback();  // the other writer's dirty pages, for commit's fsync
  return {};
}

bool blob_store::writer::link_to(const fs::path& file) {
  // The link takes the temporary file's name, so the store's clean-up at start and commit's
  // rename treat it like a file of the writer's own. Read-only: the writer never writes there.
  fs::path link = temp_path_;
  link += ".link";
  if (::link(file.c_str(), link.c_str()) != 0) return false;
  const int fd = ::open(link.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::rename(link.c_str(), temp_path_.c_str()) != 0) {
    if (fd >= 0) ::close(fd);
    ::unlink(link.c_str());
    return false;
  }
  ::close(std::exchange(fd_, fd));
  shared_ = true;
  flushed_ = 0;
  ++file_changes_;
  return true;
}

std::error_code blob_store::writer::detach() {
  // Bytes from elsewhere never go into the shared file (its owner may still write there): the
  // bytes so far are copied into a file of the writer's own under a temporary name of its own.
  // (Not renamed over the link: a name of the shared file may be beyond the store's reach, e.g.
  // when the file was made immutable.)
  fs::path own;
  const int fd = make_temp(temp_path_.parent_path(), digest_, own);
  if (fd < 0) return os_failure();
  std::error_code ec;
  for (loff_t at = 0; !ec && static_cast<std::uint64_t>(at) < written_;) {
    // Advances `at` and the new file's position (where append writes next).
    const ssize_t n =
        ::copy_file_range(fd_, &at, fd, nullptr, static_cast<std::size_t>(written_ - at), 0);
    if (n < 0 && errno != EINTR) ec = os_failure();
    if (n == 0) ec = errc::size_invalid;
  }
  if (ec) {
    ::close(fd);
    ::unlink(own.c_str());
    return ec;
  }
  ::unlink(temp_path_.c_str());  // on failure the store's next start removes it
  temp_path_ = std::move(own);
  ::close(std::exchange(fd_, fd));
  shared_ = false;
  flushed_ = 0;
  ++file_changes_;
  return {};
}

std::error_code blob_store::writer::commit() {
  if (done_ || fd_ < 0) return errc::store_failure;
  auto discard = [this](std::error_code ec) {
    ::close(std::exchange(fd_, -1));
    std::error_code ignored;
    fs::remove(temp_path_, ignored);
    done_ = true;
    return ec;
  };
  if (expected_ && written_ != *expected_) return discard(errc::size_invalid);
  if (hasher_.finish() != digest_) return discard(errc::digest_invalid);
  struct stat st {};
  if (shared_ && (::fstat(fd_, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != written_))
    return discard(errc::size_invalid);  // the shared file has bytes beyond the blob
  if (::fsync(fd_) != 0) return discard(os_failure());
  ::close(std::exchange(fd_, -1));
  std::error_code ec = store_->finish_commit(digest_, temp_path_, written_);
  if (ec) return discard(ec);
  done_ = true;
  return {};
}

// ---- store ----------------------------------------------------------------

blob_store::blob_store(options opts)
    : root_(std::move(opts.root)),
      budget_(opts.budget_bytes),
      before_evict_(std::move(opts.before_evict)),
      in_use_(std::move(opts.in_use)) {
  fs::create_directories(root_ / "tmp");
  fs::create_directories(root_ / "blobs" / "sha256");
  fs::create_directories(root_ / "blobs" / "sha512");
  rebuild_index();
}

fs::path blob_store::directory(digest_algorithm algorithm) const {
  return root_ / "blobs" / (algorithm == digest_algorithm::sha256 ? "sha256" : "sha512");
}

fs::path blob_store::final_path(const digest& d) const {
  return directory(d.algorithm()) / d.hex();
}

void blob_store::rebuild_index() {
  // A temporary file left by a crash was never verified: it goes.
  for (const auto& item : fs::directory_iterator(root_ / "tmp")) fs::remove_all(item.path());

  struct found {
    digest d;
    std::uint64_t size;
    fs::file_time_type mtime;
  };
  std::vector<found> blobs;
  for (const char* algorithm : {"sha256", "sha512"}) {
    for (const auto& item : fs::directory_iterator(root_ / "blobs" / algorithm)) {
      auto d = digest::from_file_name(item.path().filename().string());
      if (!d || d->algorithm_name() != algorithm || !item.is_regular_file()) {
        fs::remove_all(item.path());  // not ours: nothing else is ever written here
        continue;
      }
      blobs.push_back({*d, item.file_size(), item.last_write_time()});
    }
  }
  // Oldest first, so that recency order survives a restart (open() touches mtime).
  std::sort(blobs.begin(), blobs.end(),
            [](const found& a, const found& b) { return a.mtime < b.mtime; });
  doomed_files doomed;
  {
    std::lock_guard lock(mutex_);
    for (auto& b : blobs) {
      index_[b.d] = entry{b.size, ++clock_, 0, false};
      total_ += b.size;
    }
    evict_locked(doomed);
  }
  unlink_all(doomed);
}

std::optional<blob_store::lease> blob_store::open(const digest& d) {
  std::unique_lock lock(mutex_);
  auto it = index_.find(d);
  if (it == index_.end()) return std::nullopt;
  const auto path = final_path(d);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    // Out of descriptors or the like: the blob is still there, just not now.
    if (errno != ENOENT) return std::nullopt;
    // Removed behind our back: forget it rather than serve an error forever.
    total_ -= it->second.size;
    index_.erase(it);
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != it->second.size) {
    // Truncated or grown behind our back: those bytes cannot hash to the digest.
    ::close(fd);
    quarantine_locked(d);
    return std::nullopt;
  }
  it->second.last_use = ++clock_;
  ++it->second.pins;
  const auto size = it->second.size;
  const bool verified = it->second.verified;
  lock.unlock();
  ::futimens(fd, nullptr);  // keeps LRU order across restarts
  return lease(this, d, fd, size, verified);
}

bool blob_store::contains(const digest& d) const {
  std::lock_guard lock(mutex_);
  return index_.contains(d);
}

std::optional<blob_store::writer> blob_store::begin(const digest& d,
                                                    std::optional<std::uint64_t> expected_size,
                                                    std::error_code& ec) {
  fs::path temp;
  const int fd = make_temp(root_ / "tmp", d, temp);
  if (fd < 0) {
    ec = errc::store_failure;
    return std::nullopt;
  }
  ec.clear();
  return writer(this, d, expected_size, fd, std::move(temp));
}

std::error_code blob_store::finish_commit(const digest& d, const fs::path& temp,
                                          std::uint64_t size) {
  // A second writer of the same digest renames identical bytes over the first: readers that
  // hold the old file keep their descriptor, and the index counts the blob once.
  const auto target = final_path(d);
  if (::rename(temp.c_str(), target.c_str()) != 0) return errc::store_failure;
  if (sync_directory(target.parent_path())) return errc::store_failure;
  doomed_files doomed;
  {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = index_.try_emplace(d, entry{size, 0, 0, true});
    if (inserted) total_ += size;
    it->second.last_use = ++clock_;
    it->second.verified = true;  // the writer hashed every byte
    evict_locked(doomed);
  }
  unlink_all(doomed);
  return {};
}

bool blob_store::remove(const digest& d) {
  std::lock_guard lock(mutex_);
  auto it = index_.find(d);
  if (it == index_.end() || it->second.pins > 0) return false;
  std::error_code ignored;
  fs::remove(final_path(d), ignored);
  total_ -= it->second.size;
  index_.erase(it);
  return true;
}

void blob_store::mark_verified(const digest& d) {
  std::lock_guard lock(mutex_);
  if (auto it = index_.find(d); it != index_.end()) it->second.verified = true;
}

bool blob_store::quarantine(const digest& d) {
  std::lock_guard lock(mutex_);
  return quarantine_locked(d);
}

bool blob_store::quarantine_locked(const digest& d) {
  auto it = index_.find(d);
  if (it == index_.end()) return false;
  total_ -= it->second.size;
  index_.erase(it);
  ++quarantined_;
  std::error_code ec;
  fs::create_directories(quarantine_directory(), ec);
  const auto from = final_path(d);
  if (!ec && ::rename(from.c_str(), (quarantine_directory() / d.hex()).c_str()) == 0) return true;
  fs::remove(from, ec);
  return false;
}

bool blob_store::evictable_locked(const digest& d, const entry& e) const {
  return e.pins == 0 && !(in_use_ && in_use_(d));
}

void blob_store::unlink_all(const doomed_files& doomed) noexcept {
  for (const auto& path : doomed) ::unlink(path.c_str());
}

void blob_store::evict_entry_locked(std::unordered_map<digest, entry>::iterator it,
                                    doomed_files& doomed) {
  // The owner stops using the file (its torrent) before the file goes.
  if (before_evict_) before_evict_(it->first);
  const auto from = final_path(it->first);
  auto to = root_ / "tmp" / ("evicted-" + it->first.hex());
  if (::rename(from.c_str(), to.c_str()) == 0) {
    doomed.push_back(std::move(to));
  } else {
    std::error_code ignored;
    fs::remove(from, ignored);
  }
  total_ -= it->second.size;
  index_.erase(it);
}

void blob_store::evict_locked(doomed_files& doomed) {
  if (budget_ == 0) return;
  while (total_ > budget_) {
    auto victim = index_.end();
    for (auto it = index_.begin(); it != index_.end(); ++it) {
      if (evictable_locked(it->first, it->second) &&
          (victim == index_.end() || it->second.last_use < victim->second.last_use)) {
        victim = it;
      }
    }
    if (victim == index_.end()) return;  // everything left is in use
    evict_entry_locked(victim, doomed);
  }
}

blob_store::collect_report blob_store::collect(std::uint64_t target_bytes) {
  collect_report report;
  report.target_bytes = target_bytes;
  doomed_files doomed;
  std::unique_lock lock(mutex_);
  std::vector<std::pair<std::uint64_t, digest>> by_use;
  by_use.reserve(index_.size());
  for (const auto& [d, e] : index_) by_use.emplace_back(e.last_use, d);
  std::sort(by_use.begin(), by_use.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [use, d] : by_use) {
    if (total_ <= target_bytes) break;
    auto it = index_.find(d);
    if (!evictable_locked(it->first, it->second)) {
      report.in_use_bytes += it->second.size;
      ++report.in_use_blobs;
      continue;
    }
    report.freed_bytes += it->second.size;
    ++report.freed_blobs;
    evict_entry_locked(it, doomed);
  }
  report.kept_bytes = total_;
  report.kept_blobs = index_.size();
  lock.unlock();
  unlink_all(doomed);
  return report;
}

void blob_store::unpin(const digest& d) noexcept {
  doomed_files doomed;
  {
    std::lock_guard lock(mutex_);
    auto it = index_.find(d);
    if (it != index_.end() && it->second.pins > 0) --it->second.pins;
    evict_locked(doomed);
  }
  unlink_all(doomed);
}

std::vector<digest> blob_store::list() const {
  std::vector<std::pair<std::uint64_t, digest>> by_use;
  {
    std::lock_guard lock(mutex_);
    by_use.reserve(index_.size());
    for (const auto& [d, e] : index_) by_use.emplace_back(e.last_use, d);
  }
  std::sort(by_use.begin(), by_use.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<digest> out;
  out.reserve(by_use.size());
  for (auto& [use, d] : by_use) out.push_back(std::move(d));
  return out;
}

std::uint64_t blob_store::total_bytes() const {
  std::lock_guard lock(mutex_);
  return total_;
}

std::uint64_t blob_store::quarantined_count() const {
  std::lock_guard lock(mutex_);
  return quarantined_;
}

std::size_t blob_store::blob_count() const {
  std::lock_guard lock(mutex_);
  return index_.size();
}

}  // namespace rookery::layers
