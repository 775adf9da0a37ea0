#!/usr/bin/python3
"""The stock BitTorrent baseline (Twitter's Murder approach): plain libtorrent with default
settings, one torrent per layer, an opentracker in the middle.

  stock_peer.py make TRACKER_URL TORRENT_DIR FILE...   a .torrent per FILE (default piece size);
                                                       prints the info-hashes (hex), one a line
  stock_peer.py run LISTEN TORRENT_DIR DATA_DIR DONE_FILE STOP_FILE
      Joins every torrent in TORRENT_DIR with DATA_DIR as the save path (a seeder passes the
      directory that already holds the files). Writes DONE_FILE (the wall-clock time at which
      the last torrent completed) once everything is here, then keeps seeding until STOP_FILE
      appears (at most an hour).
"""
import os
import sys
import time

import libtorrent as lt


def make(tracker, torrent_dir, files):
    os.makedirs(torrent_dir, exist_ok=True)
    for path in files:
        fs = lt.file_storage()
        lt.add_files(fs, path)
        t = lt.create_torrent(fs)
        t.add_tracker(tracker)
        lt.set_piece_hashes(t, os.path.dirname(os.path.abspath(path)))
        data = lt.bencode(t.generate())
        info = lt.torrent_info(lt.bdecode(data))
        name = os.path.basename(path)
        with open(os.path.join(torrent_dir, name + ".torrent"), "wb") as f:
            f.write(data)
        print(str(info.info_hash()), info.piece_length(), file=sys.stdout)


def run(listen, torrent_dir, data_dir, done_file, stop_file):
    settings = lt.default_settings()
    settings["listen_interfaces"] = listen
    ses = lt.session(settings)
    handles = []
    for name in sorted(os.listdir(torrent_dir)):
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(os.path.join(torrent_dir, name))
        params.save_path = data_dir
        handles.append(ses.add_torrent(params))
    done = False
    deadline = time.time() + 3600
    while time.time() < deadline and not os.path.exists(stop_file):
        if not done and all(h.status().is_seeding for h in handles):
            done = True
            with open(done_file + ".tmp", "w") as f:
                f.write("%.3f\n" % time.time())
            os.rename(done_file + ".tmp", done_file)
        ses.pop_alerts()
        time.sleep(0.05)
    uploaded = sum(h.status().all_time_upload for h in handles)
    print("uploaded %d bytes" % uploaded, flush=True)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif len(sys.argv) == 7 and sys.argv[1] == "run":
        run(*sys.argv[2:])
    else:
        sys.exit(__doc__)
