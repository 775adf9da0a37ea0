#include "layers/store_check.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace rookery::layers {

bool content_matches(int fd, std::uint64_t size, const digest& d) {
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::vector<char> buffer(1024 * 1024);
  hasher h(d.algorithm());
  std::uint64_t offset = 0;
  for (;;) {
    const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;  // unreadable (EIO): not a blob we can vouch for
    if (n == 0) break;
    h.update(buffer.data(), static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return offset == size && h.finish() == d;
}

store_check_report check_store(blob_store& store) {
  store_check_report report;
  for (const auto& d : store.list()) {
    bool good = false;
    {
      const auto before = store.quarantined_count();
      auto lease = store.open(d);  // open() itself quarantines a file of the wrong size
      if (!lease) {
        if (store.quarantined_count() != before) report.quarantined.push_back(d);
        continue;
      }
      report.bytes_checked += lease->size();
      good = content_matches(lease->fd(), lease->size(), d);
    }
    if (good) {
      store.mark_verified(d);
      ++report.verified;
    } else {
      store.quarantine(d);
      report.quarantined.push_back(d);
    }
  }
  return report;
}

}  // namespace rookery::layers
