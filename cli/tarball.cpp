#include "cli/tarball.hpp"

#include <filesystem>

#include <archive.h>
#include <archive_entry.h>

namespace rookery::cli {
namespace {

constexpr std::size_t read_block_bytes = 64 * 1024;

[[noreturn]] void fail(::archive* a, const std::string& path, const char* doing) {
  const char* why = a ? archive_error_string(a) : nullptr;
  throw tarball_error(path + ": " + doing + (why ? std::string(": ") + why : std::string()));
}

std::string without_dot_slash(std::string path) {
  while (path.rfind("./", 0) == 0) path.erase(0, 2);
  return path;
}

}  // namespace

tar_reader::tar_reader(const std::string& path) : archive_(archive_read_new()), path_(path) {
  archive_read_support_filter_all(archive_);
  archive_read_support_format_tar(archive_);
  if (archive_read_open_filename(archive_, path.c_str(), read_block_bytes) != ARCHIVE_OK) {
    const std::string why = archive_error_string(archive_) ? archive_error_string(archive_) : "";
    archive_read_free(archive_);
    throw tarball_error(path + ": cannot open as a tarball" + (why.empty() ? "" : ": " + why));
  }
}

tar_reader::~tar_reader() {
  archive_read_free(archive_);
}

std::optional<tar_entry> tar_reader::next() {
  ::archive_entry* e = nullptr;
  const int r = archive_read_next_header(archive_, &e);
  if (r == ARCHIVE_EOF) return std::nullopt;
  if (r != ARCHIVE_OK && r != ARCHIVE_WARN) fail(archive_, path_, "cannot read the next entry");
  tar_entry out;
  out.path = without_dot_slash(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
  out.size = archive_entry_size_is_set(e) ? static_cast<std::uint64_t>(archive_entry_size(e)) : 0;
  if (const char* hard = archive_entry_hardlink(e)) {
    out.link_target = without_dot_slash(hard);
    out.hard_link = true;
  } else if (archive_entry_filetype(e) == AE_IFLNK && archive_entry_symlink(e)) {
    out.link_target = archive_entry_symlink(e);
  } else {
    out.regular = archive_entry_filetype(e) == AE_IFREG;
  }
  return out;
}

std::size_t tar_reader::read(void* data, std::size_t size) {
  const la_ssize_t n = archive_read_data(archive_, data, size);
  if (n < 0) fail(archive_, path_, "cannot read an entry's data");
  return static_cast<std::size_t>(n);
}

decompressing_reader::decompressing_reader(const std::string& path)
    : archive_(archive_read_new()), path_(path) {
  archive_read_support_filter_all(archive_);
  archive_read_support_format_raw(archive_);
  ::archive_entry* e = nullptr;
  if (archive_read_open_filename(archive_, path.c_str(), read_block_bytes) != ARCHIVE_OK ||
      archive_read_next_header(archive_, &e) != ARCHIVE_OK) {
    const std::string why = archive_error_string(archive_) ? archive_error_string(archive_) : "";
    archive_read_free(archive_);
    throw tarball_error(path + ": cannot decompress" + (why.empty() ? "" : ": " + why));
  }
}

decompressing_reader::~decompressing_reader() {
  archive_read_free(archive_);
}

std::size_t decompressing_reader::read(void* data, std::size_t size) {
  const la_ssize_t n = archive_read_data(archive_, data, size);
  if (n < 0) fail(archive_, path_, "cannot decompress");
  return static_cast<std::size_t>(n);
}

tar_writer::tar_writer(const std::string& path, bool gzip)
    : archive_(archive_write_new()), path_(path) {
  archive_write_set_format_pax_restricted(archive_);
  if ((gzip && archive_write_add_filter_gzip(archive_) != ARCHIVE_OK) ||
      archive_write_open_filename(archive_, path.c_str()) != ARCHIVE_OK) {
    const std::string why = archive_error_string(archive_) ? archive_error_string(archive_) : "";
    archive_write_free(archive_);
    throw tarball_error(path + ": cannot write" + (why.empty() ? "" : ": " + why));
  }
}

tar_writer::~tar_writer() {
  // An unfinished archive must not be left looking whole: end it (libarchive frees its
  // buffers only on a close; archive_write_fail leaks them) and remove the file.
  if (!closed_) {
    archive_write_close(archive_);
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  archive_write_free(archive_);
}

void tar_writer::begin_file(const std::string& path, std::uint64_t size) {
  ::archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, path.c_str());
  archive_entry_set_size(e, static_cast<la_int64_t>(size));
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_mtime(e, 0, 0);  // the same image makes the same tarball
  const int r = archive_write_header(archive_, e);
  archive_entry_free(e);
  if (r != ARCHIVE_OK) fail(archive_, path_, "cannot write an entry header");
}

void tar_writer::write(const void* data, std::size_t size) {
  const la_ssize_t n = archive_write_data(archive_, data, size);
  if (n < 0 || static_cast<std::size_t>(n) != size) fail(archive_, path_, "cannot write data");
}

void tar_writer::add_file(const std::string& path, std::string_view bytes) {
  begin_file(path, bytes.size());
  if (!bytes.empty()) write(bytes.data(), bytes.size());
}

void tar_writer::close() {
  if (archive_write_close(archive_) != ARCHIVE_OK) fail(archive_, path_, "cannot finish");
  closed_ = true;
}

bool wants_gzip(std::string_view file_name) {
  const auto ends = [&](std::string_view tail) {
    return file_name.size() >= tail.size() &&
           file_name.substr(file_name.size() - tail.size()) == tail;
  };
  return ends(".gz") || ends(".tgz");
}

}  // namespace rookery::cli
