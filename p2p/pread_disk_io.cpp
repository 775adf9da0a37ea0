#include "p2p/pread_disk_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/aux_/vector.hpp>
#include <libtorrent/disk_buffer_holder.hpp>
#include <libtorrent/error_code.hpp>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/hasher.hpp>
#include <libtorrent/storage_defs.hpp>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

namespace rookery::p2p {
namespace {

namespace fs = std::filesystem;

using prio_vector = lt::aux::vector<lt::download_priority_t, lt::file_index_t>;

// One file a torrent may have open.
struct slot {
  int fd = -1;
  bool writable = false;
  std::list<slot*>::iterator lru;  ///< its place in file_pool's order, while open
};

// The session's open files, the most recently used first; beyond the limit the least recently
// used is closed (a seeder may seed thousands of blobs; the process has ~1000 descriptors).
class file_pool {
 public:
  void set_limit(int n) {
    limit_ = static_cast<std::size_t>(std::max(n, 1));
    while (lru_.size() > limit_) close(*lru_.back());
  }
  void opened(slot& s, int fd, bool writable) {
    close(s);
    s.fd = fd;
    s.writable = writable;
    s.lru = lru_.insert(lru_.begin(), &s);
    while (lru_.size() > limit_) close(*lru_.back());
  }
  void used(slot& s) { lru_.splice(lru_.begin(), lru_, s.lru); }
  void close(slot& s) {
    if (s.fd < 0) return;
    ::close(s.fd);
    s.fd = -1;
    lru_.erase(s.lru);
  }

 private:
  std::list<slot*> lru_;
  std::size_t limit_ = 40;
};

void fail(lt::storage_error& error, lt::error_code ec, lt::operation_t op, lt::file_index_t file) {
  error.ec = ec;
  error.operation = op;
  error.file(file);
}

// The same for an errno value (a name of its own: libtorrent's error enums convert to int).
void fail_errno(lt::storage_error& error, int err, lt::operation_t op, lt::file_index_t file) {
  fail(error, lt::error_code(err, boost::system::generic_category()), op, file);
}

// Reads or writes all of `buf` at `offset`; false with errno set on an error, or with errno 0
// when a read met the end of the file first.
template <typename Call>
bool transfer_all(Call call, int fd, char* buf, std::int64_t size, std::int64_t offset) {
  while (size > 0) {
    const ssize_t n = call(fd, buf, static_cast<std::size_t>(size), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = 0;
      return false;
    }
    buf += n;
    size -= n;
    offset += n;
  }
  return true;
}

// One torrent's files: where they are, and the descriptors open on them.
class storage {
 public:
  storage(const lt::storage_params& p, file_pool& pool)
      : files_(p.files),
        mapped_(p.mapped_files ? std::make_unique<lt::file_storage>(*p.mapped_files) : nullptr),
        save_path_(p.path),
        slots_(static_cast<std::size_t>(p.files.num_files())),
        pool_(pool) {}
  ~storage() { close_all(); }
  storage(const storage&) = delete;
  storage& operator=(const storage&) = delete;

  const lt::file_storage& files() const { return mapped_ ? *mapped_ : files_; }

  // Reads `buf` from the piece at `offset`; the bytes read, or -1 with `error` set.
  int read(lt::span<char> buf, lt::piece_index_t piece, int offset, lt::storage_error& error) {
    return transfer(buf, piece, offset, false, error);
  }
  int write(lt::span<char> buf, lt::piece_index_t piece, int offset, lt::storage_error& error) {
    return transfer(buf, piece, offset, true, error);
  }

  void close_all() {
    for (auto& s : slots_) pool_.close(s);
  }

  // Hashing while writing: a piece's SHA-1 is taken over its blocks as they are written from
  // its start in order, so its hash job reads back only what came out of order (libtorrent
  // hashes a piece once all of it is written; a host fed in order reads nothing back).
  void written(lt::piece_index_t piece, int start, lt::span<const char> bytes) {
    const int p = static_cast<int>(piece);
    auto it = partial_.find(p);
    if (start == 0) it = partial_.insert_or_assign(p, partial_hash{}).first;
    if (it == partial_.end()) return;
    if (start == it->second.upto) {
      it->second.sha1.update(bytes);
      it->second.upto += static_cast<int>(bytes.size());
    } else if (start < it->second.upto) {
      partial_.erase(it);  // bytes already hashed were written again
    }
  }
  void forget(lt::piece_index_t piece) { partial_.erase(static_cast<int>(piece)); }
  void forget_all() { partial_.clear(); }

  // The piece's SHA-1 and, into `block_hashes` when not empty, its 16 KiB blocks' SHA-256;
  // reads from the file what was not hashed while it was written.
  lt::sha1_hash hash(lt::piece_index_t piece, bool v1, lt::span<lt::sha256_hash> block_hashes,
                     std::vector<char>& buffer, lt::storage_error& error);

  lt::status_t check(const lt::add_torrent_params& resume, lt::storage_error& error);
  std::pair<lt::status_t, std::string> move(const std::string& to, lt::move_flags_t flags,
                                            lt::storage_error& error);
  void remove_files(lt::storage_error& error);
  void rename(lt::file_index_t index, const std::string& name, lt::storage_error& error);

 private:
  int transfer(lt::span<char> buf, lt::piece_index_t piece, int offset, bool write,
               lt::storage_error& error);
  int descriptor(lt::file_index_t file, bool write, lt::storage_error& error);
  std::string path(lt::file_index_t file) const { return files().file_path(file, save_path_); }

  struct partial_hash {
    lt::hasher sha1;
    int upto = 0;  ///< bytes from the piece's start hashed
  };

  const lt::file_storage& files_;  // the torrent's; it outlives its storage
  std::unique_ptr<lt::file_storage> mapped_;
  std::string save_path_;
  std::vector<slot> slots_;  // by file index; never resized (the pool points into it)
  file_pool& pool_;
  std::unordered_map<int, partial_hash> partial_;  // by piece, while it is written
};

int storage::descriptor(lt::file_index_t file, bool write, lt::storage_error& error) {
  slot& s = slots_[static_cast<std::size_t>(static_cast<int>(file))];
  if (s.fd >= 0 && (s.writable || !write)) {
    pool_.used(s);
    return s.fd;
  }
  const std::string name = path(file);
  const int flags = (write ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC;
  int fd = ::open(name.c_str(), flags, 0666);
  if (fd < 0 && write && errno == ENOENT) {
    std::error_code ec;
    fs::create_directories(fs::path(name).parent_path(), ec);
    if (ec) {
      fail_errno(error, ec.value(), lt::operation_t::mkdir, file);
      return -1;
    }
    fd = ::open(name.c_str(), flags, 0666);
  }
  if (fd < 0) {
    fail_errno(error, errno, lt::operation_t::file_open, file);
    return -1;
  }
  pool_.opened(s, fd, write);
  return fd;
}

int storage::transfer(lt::span<char> buf, lt::piece_index_t piece, int offset, bool write,
                      lt::storage_error& error) {
  int done = 0;
  for (const lt::file_slice& f : files().map_block(piece, offset, static_cast<int>(buf.size()))) {
    char* at = buf.data() + done;
    if (files().pad_file_at(f.file_index)) {
      if (!write) std::fill_n(at, f.size, '\0');  // a pad file reads as zeroes, takes no bytes
    } else {
      const int fd = descriptor(f.file_index, write, error);
      if (fd < 0) return -1;
      const bool ok = write ? transfer_all(::pwrite, fd, at, f.size, f.offset)
                            : transfer_all(::pread, fd, at, f.size, f.offset);
      if (!ok) {
        const auto op = write ? lt::operation_t::file_write : lt::operation_t::file_read;
        if (errno != 0)
          fail_errno(error, errno, op, f.file_index);
        else
          fail(error, lt::errors::make_error_code(lt::errors::file_too_short), op, f.file_index);
        return -1;
      }
    }
    done += static_cast<int>(f.size);
  }
  return done;
}

lt::sha1_hash storage::hash(lt::piece_index_t piece, bool v1,
                            lt::span<lt::sha256_hash> block_hashes, std::vector<char>& buffer,
                            lt::storage_error& error) {
  partial_hash h;
  if (auto it = partial_.find(static_cast<int>(piece)); it != partial_.end()) {
    if (block_hashes.empty()) h = it->second;  // the v2 block hashes need every byte read
    partial_.erase(it);
  }
  const int size1 = v1 ? files().piece_size(piece) : 0;
  const int size2 = block_hashes.empty() ? 0 : files().piece_size2(piece);
  const int size = std::max(size1, size2);
  buffer.resize(static_cast<std::size_t>(size));
  if (h.upto < size && read({buffer.data() + h.upto, size - h.upto}, piece, h.upto, error) < 0)
    return {};
  if (v1) h.sha1.update({buffer.data() + h.upto, size1 - h.upto});
  for (int at = 0, i = 0; at < size2; at += lt::default_block_size, ++i)
    block_hashes[i] =
        lt::hasher256(buffer.data() + at, std::min(lt::default_block_size, size2 - at)).final();
  return v1 ? h.sha1.final() : lt::sha1_hash{};
}

lt::status_t storage::check(const lt::add_torrent_params& resume, lt::storage_error& error) {
  lt::status_t status = lt::status_t::no_error;
  bool any_file = false, all_files = true;
  for (const lt::file_index_t i : files().file_range()) {
    if (files().pad_file_at(i)) continue;
    struct stat st {};
    if (::stat(path(i).c_str(), &st) != 0) {
      if (errno != ENOENT) {
        fail_errno(error, errno, lt::operation_t::file_stat, i);
        return lt::status_t::fatal_disk_error;
      }
      all_files = false;
      if (files().file_size(i) == 0) {  // an empty file is there from the start
        lt::storage_error ignored;
        descriptor(i, true, ignored);
      }
      continue;
    }
    any_file = any_file || st.st_size > 0;
    if (st.st_size > files().file_size(i)) status = status | lt::status_t::oversized_file;
    if (st.st_size < files().file_size(i)) all_files = false;
  }
  const bool seed =
      (resume.flags & lt::torrent_flags::seed_mode) ||
      (resume.have_pieces.size() >= files().num_pieces() && resume.have_pieces.all_set());
  // A seed needs every file whole; a partial resume or none is checked by hashing whatever is
  // there (rookery never hands libtorrent partial resume data).
  const bool trusted = seed && all_files;
  if (seed && !all_files) {
    error.ec = lt::errors::mismatching_file_size;
    error.operation = lt::operation_t::check_resume;
  }
  if (trusted || !any_file) return status;
  return status | lt::status_t::need_full_check;
}

std::pair<lt::status_t, std::string> storage::move(const std::string& to, lt::move_flags_t flags,
                                                   lt::storage_error& error) {
  std::error_code ec;
  const fs::path target = fs::absolute(to, ec);
  if (!ec) fs::create_directories(target, ec);
  if (ec) {
    fail_errno(error, ec.value(), lt::operation_t::mkdir, lt::file_index_t(-1));
    return {lt::status_t::fatal_disk_error, save_path_};
  }
  const auto names = [&](lt::file_index_t i) {
    return std::pair(fs::path(path(i)), target / files().file_path(i));
  };
  if (flags == lt::move_flags_t::fail_if_exist) {
    for (const lt::file_index_t i : files().file_range()) {
      if (files().file_absolute_path(i) || !fs::exists(names(i).second, ec)) continue;
      fail_errno(error, EEXIST, lt::operation_t::file_stat, i);
      return {lt::status_t::file_exist, save_path_};
    }
  }
  close_all();
  lt::status_t status = lt::status_t::no_error;
  std::vector<lt::file_index_t> renamed, copied;
  for (const lt::file_index_t i : files().file_range()) {
    if (files().file_absolute_path(i) || files().pad_file_at(i)) continue;
    const auto [from, into] = names(i);
    if (flags == lt::move_flags_t::dont_replace && fs::exists(into, ec)) {
      status = lt::status_t::need_full_check;  // the file there is taken, and checked
      continue;
    }
    if (!fs::exists(from, ec)) continue;
    fs::create_directories(into.parent_path(), ec);
    if (!ec) fs::rename(from, into, ec);
    if (!ec) {
      renamed.push_back(i);
      continue;
    }
    ec.clear();  // another file system, say: copy, and remove the original once all are there
    fs::copy_file(from, into, fs::copy_options::overwrite_existing, ec);
    if (ec) {
      fail_errno(error, ec.value(), lt::operation_t::file_copy, i);
      for (const auto j : renamed) fs::rename(names(j).second, names(j).first, ec);
      return {lt::status_t::fatal_disk_error, save_path_};
    }
    copied.push_back(i);
  }
  for (const auto i : copied) fs::remove(names(i).first, ec);
  save_path_ = target.string();
  return {status, save_path_};
}

void storage::remove_files(lt::storage_error& error) {
  close_all();
  forget_all();
  for (const lt::file_index_t i : files().file_range()) {
    if (files().pad_file_at(i)) continue;
    std::error_code ec;
    fs::remove(path(i), ec);
    if (ec && !error) fail_errno(error, ec.value(), lt::operation_t::file_remove, i);
  }
}

void storage::rename(lt::file_index_t index, const std::string& name, lt::storage_error& error) {
  if (index < lt::file_index_t(0) || index >= files().end_file()) return;
  pool_.close(slots_[static_cast<std::size_t>(static_cast<int>(index))]);
  const fs::path from = path(index);
  const fs::path into = fs::path(name).is_absolute() ? fs::path(name) : save_path_ / fs::path(name);
  std::error_code ec;
  if (fs::exists(from, ec)) {
    fs::create_directories(into.parent_path(), ec);
    if (!ec) fs::rename(from, into, ec);
    if (ec) {
      fail_errno(error, ec.value(), lt::operation_t::file_rename, index);
      return;
    }
  }
  if (!mapped_) mapped_ = std::make_unique<lt::file_storage>(files_);
  mapped_->rename_file(index, name);
}

class disk_io final : public lt::disk_interface, public lt::buffer_allocator_interface {
 public:
  disk_io(lt::io_context& io, const lt::settings_interface& settings, lt::counters& counters)
      : io_(io), settings_(settings), counters_(counters) {
    settings_updated();
  }

  void settings_updated() override {
    pool_.set_limit(settings_.get_int(lt::settings_pack::file_pool_size));
  }

  lt::storage_holder new_torrent(const lt::storage_params& p,
                                 const std::shared_ptr<void>&) override {
    auto s = std::make_unique<storage>(p, pool_);
    const auto free_slot = std::find(torrents_.begin(), torrents_.end(), nullptr);
    const lt::storage_index_t index(static_cast<std::uint32_t>(free_slot - torrents_.begin()));
    if (free_slot == torrents_.end())
      torrents_.push_back(std::move(s));
    else
      *free_slot = std::move(s);
    return lt::storage_holder(index, *this);
  }

  void remove_torrent(lt::storage_index_t index) override { at(index).reset(); }

  void async_read(lt::storage_index_t index, const lt::peer_request& r,
                  std::function<void(lt::disk_buffer_holder, const lt::storage_error&)> handler,
                  lt::disk_job_flags_t) override {
    lt::disk_buffer_holder buffer(*this, new char[static_cast<std::size_t>(r.length)], r.length);
    lt::storage_error error;
    if (at(index)->read({buffer.data(), r.length}, r.piece, r.start, error) >= 0) {
      counters_.inc_stats_counter(lt::counters::num_blocks_read);
      counters_.inc_stats_counter(lt::counters::num_read_ops);
    }
    post(io_, [h = std::move(handler), b = std::move(buffer), error]() mutable {
      h(std::move(b), error);
    });
  }

  bool async_write(lt::storage_index_t index, const lt::peer_request& r, const char* buf,
                   std::shared_ptr<lt::disk_observer>,
                   std::function<void(const lt::storage_error&)> handler,
                   lt::disk_job_flags_t) override {
    lt::storage_error error;
    storage& s = *at(index);
    if (s.write({const_cast<char*>(buf), r.length}, r.piece, r.start, error) >= 0) {
      s.written(r.piece, r.start, {buf, r.length});
      counters_.inc_stats_counter(lt::counters::num_blocks_written);
      counters_.inc_stats_counter(lt::counters::num_write_ops);
    } else {
      s.forget(r.piece);
    }
    post(io_, [h = std::move(handler), error] { h(error); });
    return false;  // never a queue to wait for
  }

  void async_hash(
      lt::storage_index_t index, lt::piece_index_t piece, lt::span<lt::sha256_hash> block_hashes,
      lt::disk_job_flags_t flags,
      std::function<void(lt::piece_index_t, const lt::sha1_hash&, const lt::storage_error&)>
          handler) override {
    lt::storage_error error;
    const lt::sha1_hash hash =
        at(index)->hash(piece, bool(flags & disk_interface::v1_hash), block_hashes, buffer_, error);
    post(io_, [h = std::move(handler), piece, hash, error] { h(piece, hash, error); });
  }

  void async_hash2(
      lt::storage_index_t index, lt::piece_index_t piece, int offset, lt::disk_job_flags_t,
      std::function<void(lt::piece_index_t, const lt::sha256_hash&, const lt::storage_error&)>
          handler) override {
    storage& s = *at(index);
    const int size = std::min(lt::default_block_size, s.files().piece_size2(piece) - offset);
    lt::storage_error error;
    buffer_.resize(static_cast<std::size_t>(size));
    lt::sha256_hash hash;
    if (s.read({buffer_.data(), size}, piece, offset, error) >= 0)
      hash = lt::hasher256(buffer_.data(), size).final();
    post(io_, [h = std::move(handler), piece, hash, error] { h(piece, hash, error); });
  }

  void async_move_storage(
      lt::storage_index_t index, std::string path, lt::move_flags_t flags,
      std::function<void(lt::status_t, const std::string&, const lt::storage_error&)> handler)
      override {
    lt::storage_error error;
    auto [status, now] = at(index)->move(path, flags, error);
    post(io_, [h = std::move(handler), status = status, now = std::move(now), error] {
      h(status, now, error);
    });
  }

  void async_release_files(lt::storage_index_t index, std::function<void()> handler) override {
    at(index)->close_all();
    if (handler) post(io_, std::move(handler));
  }

  void async_check_files(
      lt::storage_index_t index, const lt::add_torrent_params* resume,
      lt::aux::vector<std::string, lt::file_index_t>,
      std::function<void(lt::status_t, const lt::storage_error&)> handler) override {
    lt::storage_error error;
    const lt::status_t status =
        at(index)->check(resume ? *resume : lt::add_torrent_params{}, error);
    post(io_, [h = std::move(handler), status, error] { h(status, error); });
  }

  void async_stop_torrent(lt::storage_index_t index, std::function<void()> handler) override {
    at(index)->close_all();
    if (handler) post(io_, std::move(handler));
  }

  void async_rename_file(
      lt::storage_index_t index, lt::file_index_t file, std::string name,
      std::function<void(const std::string&, lt::file_index_t, const lt::storage_error&)> handler)
      override {
    lt::storage_error error;
    at(index)->rename(file, name, error);
    post(io_,
         [h = std::move(handler), name = std::move(name), file, error] { h(name, file, error); });
  }

  void async_delete_files(lt::storage_index_t index, lt::remove_flags_t,
                          std::function<void(const lt::storage_error&)> handler) override {
    lt::storage_error error;
    at(index)->remove_files(error);
    post(io_, [h = std::move(handler), error] { h(error); });
  }

  void async_set_file_priority(
      lt::storage_index_t, prio_vector priorities,
      std::function<void(const lt::storage_error&, prio_vector)> handler) override {
    post(io_, [h = std::move(handler), p = std::move(priorities)]() mutable {
      h(lt::storage_error{}, std::move(p));
    });
  }

  void async_clear_piece(lt::storage_index_t index, lt::piece_index_t piece,
                         std::function<void(lt::piece_index_t)> handler) override {
    at(index)->forget(piece);
    post(io_, [h = std::move(handler), piece] { h(piece); });
  }

  void update_stats_counters(lt::counters&) const override {}
  std::vector<lt::open_file_state> get_status(lt::storage_index_t) const override { return {}; }
  void abort(bool) override {}
  void submit_jobs() override {}

  void free_disk_buffer(char* b) override { delete[] b; }

 private:
  std::unique_ptr<storage>& at(lt::storage_index_t index) {
    return torrents_[static_cast<std::size_t>(static_cast<std::uint32_t>(index))];
  }

  lt::io_context& io_;
  const lt::settings_interface& settings_;
  lt::counters& counters_;
  file_pool pool_;
  std::vector<std::unique_ptr<storage>> torrents_;  // by storage index; null where removed
  std::vector<char> buffer_;                        // a piece being hashed
};

}  // namespace

std::unique_ptr<lt::disk_interface> pread_disk_io(lt::io_context& io,
                                                  const lt::settings_interface& settings,
                                                  lt::counters& counters) {
  return std::make_unique<disk_io>(io, settings, counters);
}

}  // namespace rookery::p2p
