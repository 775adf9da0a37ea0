// The proxy's own helper for reading a small leased file (a cached manifest) whole.
#pragma once

#include <unistd.h>

#include <string>

#include "layers/blob_store.hpp"

namespace rookery::proxy::detail {

/// Reads all of `lease` into `out`; false on a read error or a short file.
inline bool read_lease(const layers::blob_store::lease& lease, std::string& out) {
  out.resize(lease.size());
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(lease.fd(), out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace rookery::proxy::detail
