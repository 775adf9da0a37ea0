// The metainfo of the blobs a host seeds, kept beside its blob store (one `<hex>.torrent` file
// per blob, written atomically) so that a restart seeds again without hashing anything. The
// seeder and every proxy keep one.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "layers/digest.hpp"

namespace rookery::p2p {

/// Thread-safe: every call is a separate file operation.
class metainfo_store {
 public:
  /// Creates `dir` if needed; throws std::filesystem::filesystem_error when it cannot.
  explicit metainfo_store(std::filesystem::path dir);

  /// False when it could not be written (the old file, if any, is intact).
  bool save(const layers::digest& d, const std::string& metainfo) const;
  std::optional<std::string> load(const layers::digest& d) const;
  void remove(const layers::digest& d) const;
  /// Every saved blob; files that name no digest (an interrupted write's leftover) are removed.
  std::vector<layers::digest> list() const;

 private:
  std::filesystem::path path_of(const layers::digest& d) const;
  std::filesystem::path dir_;
};

}  // namespace rookery::p2p
