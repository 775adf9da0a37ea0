// libtorrent's disk I/O as rookery uses it: each torrent's file opened once and kept open,
// blocks read and written with pread/pwrite on libtorrent's network thread.
#pragma once

#include <libtorrent/disk_interface.hpp>
#include <libtorrent/io_context.hpp>
#include <libtorrent/performance_counters.hpp>
#include <libtorrent/settings_pack.hpp>
#include <memory>

namespace rookery::p2p {

/// A libtorrent disk I/O (session_params::disk_io_constructor) that keeps each file it has
/// opened open, up to `file_pool_size` files for the whole session (the least recently used
/// one is closed first), and reads, writes and hashes with pread/pwrite. Like libtorrent's
/// posix_disk_io every job runs at once on the calling (network) thread: there is no queue and
/// no cache, so a piece libtorrent reports verified is in its file, written. posix_disk_io
/// opens, seeks and closes the file for every 16 KiB block; that was 13 % of a proxy's CPU in a
/// cold 1 GiB pull.
///
/// Files a torrent does not download (priority 0) get no part file: a piece they share with a
/// wanted file is written into them. rookery's torrents are one file each.
std::unique_ptr<lt::disk_interface> pread_disk_io(lt::io_context& io,
                                                  const lt::settings_interface& settings,
                                                  lt::counters& counters);

}  // namespace rookery::p2p
