#!/usr/bin/python3
"""Concurrent blob pulls against one rookery-proxy, for bench/load.

Usage: load_clients.py PORT REPO [--metainfo] DIGEST...   (one client thread per DIGEST, all
start together)
Each client GETs /v2/REPO/blobs/DIGEST, hashes the body as it streams and counts the request as
failed unless it got 200 and bytes that hash to DIGEST. With --metainfo (against a seeder) it
GETs /v1/blobs/DIGEST/torrent?repo=REPO instead and wants 200 with a bencoded dictionary. Prints one JSON object: requests,
failures, p50/p99/max latency (s), bytes, wall time (s), throughput (MiB/s).
"""
import hashlib
import http.client
import json
import sys
import threading
import time


def pull(port, repo, digest, metainfo, barrier, results, index):
    barrier.wait()
    start = time.monotonic()
    ok, size = False, 0
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        path = f"/v1/blobs/{digest}/torrent?repo={repo}" if metainfo else f"/v2/{repo}/blobs/{digest}"
        conn.request("GET", path)
        res = conn.getresponse()
        h = hashlib.sha256()
        first = b""
        while True:
            chunk = res.read(256 * 1024)
            if not chunk:
                break
            first = first or chunk[:1]
            h.update(chunk)
            size += len(chunk)
        if metainfo:
            ok = res.status == 200 and first == b"d"
        else:
            ok = res.status == 200 and "sha256:" + h.hexdigest() == digest
        conn.close()
    except OSError:
        ok = False
    results[index] = (time.monotonic() - start, ok, size)


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def main():
    port, repo, digests = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    metainfo = bool(digests) and digests[0] == "--metainfo"
    if metainfo:
        digests = digests[1:]
    barrier = threading.Barrier(len(digests) + 1)
    results = [None] * len(digests)
    threads = [threading.Thread(target=pull, args=(port, repo, d, metainfo, barrier, results, i))
               for i, d in enumerate(digests)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.monotonic()
    for t in threads:
        t.join()
    wall = time.monotonic() - start
    latencies = sorted(r[0] for r in results)
    total = sum(r[2] for r in results)
    print(json.dumps({
        "requests": len(results),
        "failures": sum(1 for r in results if not r[1]),
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "max": latencies[-1],
        "bytes": total,
        "wall": wall,
        "mib_per_s": total / wall / 1048576 if wall > 0 else 0.0,
    }))


if __name__ == "__main__":
    main()
