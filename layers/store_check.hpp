// A store check ("fsck"): every stored blob is hashed and compared with the digest it is stored
// under; a blob that does not match is quarantined (layers/blob_store), so it is never served
// and the next request fetches it afresh.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "layers/blob_store.hpp"
#include "layers/digest.hpp"

namespace rookery::layers {

/// What check_store found.
struct store_check_report {
  std::size_t verified = 0;         ///< blobs that hash to their digest
  std::uint64_t bytes_checked = 0;  ///< bytes read
  std::vector<digest> quarantined;  ///< blobs whose content did not match their digest
};

/// Whether the `size` bytes readable at `fd` from offset 0 hash to `d` (and there are exactly
/// `size` of them). Blocking; reads through one 1 MiB buffer.
bool content_matches(int fd, std::uint64_t size, const digest& d);

/// Hashes every blob in `store` and quarantines each that does not hash to its name. Blocking
/// (reads every byte): run it before serving, or off the network thread. Thread-safe as the
/// store is; a blob committed while it runs may be left unchecked.
store_check_report check_store(blob_store& store);

}  // namespace rookery::layers
