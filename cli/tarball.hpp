// Tarballs through libarchive, streamed: a reader that walks a tar file (plain, gzip or any
// filter libarchive detects) entry by entry, a reader for one compressed stream, and a writer
// (plain or gzip) whose entries are declared with their size and then written in chunks.
// Failures throw tarball_error naming the file; nothing here keeps a whole entry in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

struct archive;

namespace rookery::cli {

/// A tarball that cannot be read or written; what() names the file and libarchive's reason.
class tarball_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One entry of a tarball as the reader meets it.
struct tar_entry {
  std::string path;  ///< without a leading "./"
  std::uint64_t size = 0;
  bool regular = false;     ///< a file whose data follows
  std::string link_target;  ///< a link's target; empty otherwise
  bool hard_link = false;   ///< link_target is a path in the tarball, not relative to `path`
};

/// Reads a tar file entry by entry. Not thread-safe; not copyable.
class tar_reader {
 public:
  /// Opens `path`; throws tarball_error when it is not a tar file libarchive can read.
  explicit tar_reader(const std::string& path);
  ~tar_reader();
  tar_reader(const tar_reader&) = delete;
  tar_reader& operator=(const tar_reader&) = delete;

  /// The next entry, or nullopt after the last one.
  std::optional<tar_entry> next();
  /// Up to `size` bytes of the current entry's data; 0 at its end.
  std::size_t read(void* data, std::size_t size);

 private:
  ::archive* archive_;
  std::string path_;
};

/// The bytes of one file after whatever compression libarchive recognises (gzip, zstd, xz...),
/// or the file as it is when it is not compressed. Not thread-safe; not copyable.
class decompressing_reader {
 public:
  explicit decompressing_reader(const std::string& path);
  ~decompressing_reader();
  decompressing_reader(const decompressing_reader&) = delete;
  decompressing_reader& operator=(const decompressing_reader&) = delete;

  /// Up to `size` uncompressed bytes; 0 at the end.
  std::size_t read(void* data, std::size_t size);

 private:
  ::archive* archive_;
  std::string path_;
};

/// Writes a tar file (pax format), gzip-compressed or plain. close() must succeed for the file
/// to be complete; the destructor of an unclosed writer removes the file. Not thread-safe; not
/// copyable.
class tar_writer {
 public:
  tar_writer(const std::string& path, bool gzip);
  ~tar_writer();
  tar_writer(const tar_writer&) = delete;
  tar_writer& operator=(const tar_writer&) = delete;

  /// Starts a regular file of exactly `size` bytes, to be given by write().
  void begin_file(const std::string& path, std::uint64_t size);
  void write(const void* data, std::size_t size);
  /// A whole small file at once.
  void add_file(const std::string& path, std::string_view bytes);
  /// Finishes the archive; throws when the end could not be written.
  void close();

 private:
  ::archive* archive_;
  std::string path_;
  bool closed_ = false;
};

/// True when the file's name asks for gzip: it ends in ".gz" or ".tgz".
bool wants_gzip(std::string_view file_name);

}  // namespace rookery::cli
