// Small files kept beside the blobs (saved metainfo): read whole, written atomically.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace rookery::layers {

/// The whole file, or nullopt when it cannot be read.
std::optional<std::string> read_small_file(const std::filesystem::path& path);

/// Writes `content` to `path` so that a crash leaves the old file or the new one, never a
/// truncated one (temporary file, fsync, rename). False on any failure.
bool write_file_atomically(const std::filesystem::path& path, const std::string& content);

}  // namespace rookery::layers
