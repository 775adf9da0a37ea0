// Content-addressed blob storage on local disk.
//
// Layout under the root: blobs/<algorithm>/<hex> holds verified blobs only; tmp/ holds blobs
// being written. A blob becomes visible under its digest solely by rename() after its content
// was hashed, checked against the digest and fsynced, so nothing partial or corrupt is ever
// served. A size budget is kept by evicting least-recently-used blobs that nobody holds open.
// A blob found bad (by a store check, or a file whose size changed behind our back) moves to
// quarantine/ and is never served again. Blobs found on disk at start are "unverified" until
// someone hashed them (check_store, or the owner before it first serves one).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "layers/digest.hpp"

namespace rookery::layers {

class blob_store {
 public:
  struct options {
    std::filesystem::path root;
    std::uint64_t budget_bytes = 0;  ///< 0: no budget, never evict
    /// Called with each blob the budget evicts, before its file is removed (to stop seeding
    /// it first). Runs under the store's lock on whichever thread evicts: it must be
    /// thread-safe and must not call back into the store.
    std::function<void(const digest&)> before_evict = {};
    /// Whether a blob is in use beyond the store's own leases (e.g. being uploaded to a peer):
    /// eviction skips it like a pinned blob. Called under the store's lock on whichever thread
    /// evicts: it must be thread-safe and must not call back into the store. Empty: never.
    std::function<bool(const digest&)> in_use = {};
  };

  /// What one collect() did. Bytes and blobs are counted at the end of the pass.
  struct collect_report {
    std::uint64_t target_bytes = 0;
    std::uint64_t freed_bytes = 0, freed_blobs = 0;    ///< evicted
    std::uint64_t kept_bytes = 0, kept_blobs = 0;      ///< still stored afterwards
    std::uint64_t in_use_bytes = 0, in_use_blobs = 0;  ///< passed over: leased or in use
  };

  /// A committed blob held open for reading. While any lease on a blob lives, the blob is
  /// pinned: eviction skips it. The file descriptor stays valid even if the blob is removed.
  /// Leases must not outlive their store.
  class lease {
   public:
    lease(lease&&) noexcept;
    lease& operator=(lease&&) noexcept;
    ~lease();
    int fd() const noexcept { return fd_; }
    std::uint64_t size() const noexcept { return size_; }
    const layers::digest& digest() const noexcept { return digest_; }
    /// Whether the blob's bytes were hashed since the store opened (committed, or
    /// mark_verified). An unverified blob was found on disk at start: hash it before serving.
    bool verified() const noexcept { return verified_; }

   private:
    friend class blob_store;
    lease(blob_store* store, layers::digest d, int fd, std::uint64_t size, bool verified)
        : store_(store), digest_(std::move(d)), fd_(fd), size_(size), verified_(verified) {}
    void release() noexcept;
    blob_store* store_;
    layers::digest digest_;
    int fd_;
    std::uint64_t size_;
    bool verified_;
  };

  /// Writes one blob into a temporary file, hashing as it goes. Single-threaded use; the
  /// destructor discards the temporary file unless commit() succeeded.
  class writer {
   public:
    writer(writer&&) noexcept;
    writer& operator=(writer&&) = delete;
    ~writer();

    /// Appends bytes; fails with errc::size_invalid past the expected size, store_failure on disk
    /// trouble. Starts the disk's writeback every few MiB, so commit's fsync finds little left.
    /// After take(), first copies what the writer has into a file of its own (detaches).
    std::error_code write(const void* data, std::size_t size);
    /// Takes `size` more bytes that someone else already wrote into `file` (the same file at
    /// every call) at offset written(), a torrent's download say, and hashes them there. The first
    /// time, when nothing was written yet, the temporary file becomes a hard link to `file`, so the
    /// blob is stored without a copy; elsewhere (another file system, bytes written before) they
    /// are copied. The writer never writes into that file: the other writer must leave bytes it
    /// handed over as they are.
    std::error_code take(const std::filesystem::path& file, std::size_t size);
    std::uint64_t written() const noexcept { return written_; }
    /// Counts the times the temporary file changed (take's link, write's copy into a file of
    /// the writer's own, under a new temp_path()): descriptors opened on the temporary file
    /// before must be opened again, on temp_path(), for later bytes.
    unsigned file_changes() const noexcept { return file_changes_; }
    /// Whether the temporary file is the file take() was given (no copy so far).
    bool shared() const noexcept { return shared_; }
    /// The operating system's reason for the last store_failure (ENOSPC, EIO...), for logs.
    std::error_code os_error() const noexcept { return os_error_; }
    /// The temporary file, readable by others while it grows (see file_changes).
    const std::filesystem::path& temp_path() const noexcept { return temp_path_; }
    /// Verifies size and digest, fsyncs and renames into place. digest_invalid or size_invalid
    /// when the content is wrong (the temporary file is then discarded).
    std::error_code commit();

   private:
    friend class blob_store;
    writer(blob_store* store, layers::digest d, std::optional<std::uint64_t> expected, int fd,
           std::filesystem::path temp);
    blob_store* store_;
    layers::digest digest_;
    std::optional<std::uint64_t> expected_;
    int fd_;
    std::filesystem::path temp_path_;
    hasher hasher_;
    std::uint64_t written_ = 0;
    std::uint64_t flushed_ = 0;  ///< writeback started up to here
    std::error_code os_error_;
    bool done_ = false;
    bool shared_ = false;  ///< the temporary file is a link to the file take() was given
    int source_fd_ = -1;   ///< take()'s file when it could not be linked: copied from
    unsigned file_changes_ = 0;
    std::vector<char> buffer_;  ///< take()'s reads

    std::error_code append(const void* data, std::size_t size);
    std::error_code os_failure();
    bool link_to(const std::filesystem::path& file);
    std::error_code detach();
    void start_writeback();
  };

  /// Opens or creates the store at options.root: removes stray temporary files and rebuilds
  /// the index from what is on disk. Throws std::system_error when the root is unusable.
  explicit blob_store(options opts);
  blob_store(const blob_store&) = delete;
  blob_store& operator=(const blob_store&) = delete;

  /// A lease on the blob, or nullopt when it is not stored. Marks the blob recently used. A
  /// file whose size is no longer the one indexed is quarantined instead (nullopt).
  std::optional<lease> open(const digest& d);
  bool contains(const digest& d) const;
  /// Starts writing `d`; `expected_size`, when known, is enforced. Errors: store_failure.
  std::optional<writer> begin(const digest& d, std::optional<std::uint64_t> expected_size,
                              std::error_code& ec);
  /// Evicts least-recently-used blobs until at most `target_bytes` remain, passing over blobs
  /// that are leased or in use (options::in_use); each eviction tells before_evict first. The
  /// target may stay out of reach when what is left is in use. Evicted files are unlinked after
  /// the store's lock is released, so other store calls do not wait on the file system.
  collect_report collect(std::uint64_t target_bytes);
  /// The size budget (0: none).
  std::uint64_t budget_bytes() const noexcept { return budget_; }
  /// Removes a blob unless it is pinned; true when it was removed.
  bool remove(const digest& d);
  /// Moves a blob that failed a check to quarantine_directory()/<hex> (kept for inspection,
  /// never served again), pinned or not: readers keep their descriptor. False when `d` was not
  /// stored or the move failed (the file is then deleted, so it is not served either).
  bool quarantine(const digest& d);
  /// Records that `d`'s stored bytes hashed to `d` (see lease::verified).
  void mark_verified(const digest& d);
  /// Where quarantined blobs go: <root>/quarantine.
  std::filesystem::path quarantine_directory() const { return root_ / "quarantine"; }

  /// Every stored blob, least recently used first.
  std::vector<digest> list() const;
  std::uint64_t total_bytes() const;
  std::size_t blob_count() const;
  /// Blobs quarantined since the store opened.
  std::uint64_t quarantined_count() const;
  const std::filesystem::path& root() const noexcept { return root_; }
  /// The directory that holds committed blobs of `algorithm`, each named by its hex (where a
  /// torrent can seed them from).
  std::filesystem::path directory(digest_algorithm algorithm) const;

  // All public members are thread-safe.

 private:
  struct entry {
    std::uint64_t size = 0;
    std::uint64_t last_use = 0;
    unsigned pins = 0;
    bool verified = false;  ///< hashed since the store opened
  };

  std::filesystem::path final_path(const digest& d) const;
  void rebuild_index();
  std::error_code finish_commit(const digest& d, const std::filesystem::path& temp,
                                std::uint64_t size);
  // Evicted files are renamed into tmp/ under the lock (quick) and unlinked after it (freeing
  // a large file's extents can take a while); tmp/ is emptied at open after a crash.
  using doomed_files = std::vector<std::filesystem::path>;
  static void unlink_all(const doomed_files& doomed) noexcept;
  void evict_locked(doomed_files& doomed);
  bool evictable_locked(const digest& d, const entry& e) const;
  void evict_entry_locked(std::unordered_map<digest, entry>::iterator it, doomed_files& doomed);
  bool quarantine_locked(const digest& d);
  void unpin(const digest& d) noexcept;

  std::filesystem::path root_;
  std::uint64_t budget_;
  std::function<void(const digest&)> before_evict_;
  std::function<bool(const digest&)> in_use_;
  mutable std::mutex mutex_;
  std::unordered_map<digest, entry> index_;
  std::uint64_t total_ = 0;
  std::uint64_t clock_ = 0;
  std::uint64_t quarantined_ = 0;
};

}  // namespace rookery::layers
