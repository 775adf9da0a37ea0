#!/usr/bin/python3
"""A fleet member that lies: it claims every piece of the torrents it joins and serves corrupt
bytes (for the testbed's faults test).

liar_peer.py LISTEN CERT KEY DATA_DIR STOP_FILE TORRENT...

DATA_DIR holds each torrent's true file (named as in the metainfo); the liar flips four bytes in
every piece of it, then joins each torrent with all pieces marked as had (resume data, so nothing
is checked), with the fleet certificate CERT/KEY, announcing to the metainfo's tracker like any
host. Runs until STOP_FILE appears (at most 10 minutes) and prints one JSON line: payload bytes
uploaded and the number of distinct peers that connected.
"""
import json
import os
import sys
import time

import libtorrent as lt


def corrupt(path, piece_length):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        for start in range(0, size, piece_length):
            f.seek(start + min(100, size - start - 4))
            f.write(b"LIES")


def main(listen, cert, key, data_dir, stop_file, torrents):
    session = lt.session({
        "listen_interfaces": listen + "s",  # SSL torrents: the TLS port only
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert_category.error | lt.alert_category.status
        | lt.alert_category.connect,
    })
    handles = []
    for torrent in torrents:
        info = lt.torrent_info(torrent)
        corrupt(os.path.join(data_dir, info.name()), info.piece_length())
        params = lt.add_torrent_params()
        params.ti = info
        params.save_path = data_dir
        params.have_pieces = [True] * info.num_pieces()
        params.flags &= ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
        handles.append(session.add_torrent(params))
    peers = set()
    deadline = time.time() + 600
    while time.time() < deadline and not os.path.exists(stop_file):
        for alert in session.pop_alerts():
            if isinstance(alert, lt.torrent_need_cert_alert):
                alert.handle.set_ssl_certificate(cert, key, "")
            elif isinstance(alert, lt.peer_connect_alert):
                peers.add(str(alert.endpoint[0]))
        time.sleep(0.2)
    uploaded = sum(h.status().total_payload_upload for h in handles)
    print(json.dumps({"uploaded": uploaded, "peers": len(peers)}), flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 7:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:])
