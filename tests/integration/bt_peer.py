#!/usr/bin/python3
"""A stock BitTorrent peer (python3-libtorrent, default settings) for the peer-wire tests.

bt_peer.py TORRENT SAVE_DIR SECONDS [--cert PEM --key KEY] [--bind ADDR] [--connect HOST:PORT]...

Joins the torrent (with a fleet certificate when given, as any libtorrent client can), connects
to the listed peers and waits up to SECONDS for the download. Prints one JSON line:
{"bytes": verified bytes, "complete": bool, "errors": [peer errors seen]}.
"""
import argparse
import json
import os
import time

import libtorrent as lt

parser = argparse.ArgumentParser()
parser.add_argument("torrent")
parser.add_argument("save")
parser.add_argument("seconds", type=float)
parser.add_argument("--cert")
parser.add_argument("--key")
parser.add_argument("--bind", default="127.0.0.1", help="local address of every connection")
parser.add_argument("--connect", action="append", default=[])
args = parser.parse_args()

info = lt.torrent_info(args.torrent)
ssl = bool(info.ssl_cert())
session = lt.session({
    "listen_interfaces": args.bind + (":0s" if ssl else ":0"),
    "outgoing_interfaces": args.bind,
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "allow_multiple_connections_per_ip": True,
    "alert_mask": lt.alert_category.error | lt.alert_category.status,
})
params = lt.add_torrent_params()
params.ti = info
params.save_path = args.save
os.makedirs(args.save, exist_ok=True)
handle = session.add_torrent(params)
errors = set()
deadline = time.time() + args.seconds
connected = False
while time.time() < deadline:
    for alert in session.pop_alerts():
        if isinstance(alert, lt.torrent_need_cert_alert) and args.cert:
            handle.set_ssl_certificate(args.cert, args.key, "")
        elif isinstance(alert, lt.peer_error_alert):
            errors.add(alert.error.message())
    if not connected:
        for peer in args.connect:
            host, port = peer.rsplit(":", 1)
            handle.connect_peer((host, int(port)))
        connected = True
    status = handle.status()
    if status.is_seeding:
        break
    time.sleep(0.2)
status = handle.status()
print(json.dumps({"bytes": status.total_wanted_done, "complete": bool(status.is_seeding),
                  "errors": sorted(errors)[:5]}))
