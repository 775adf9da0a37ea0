#!/usr/bin/python3
"""Announce load on a rookery-seeder's tracker (bench/load-seeder).

tracker_clients.py PORT HASHES_FILE PEERS PER_PEER SECONDS PROCESSES

PEERS peers, each with its own loopback address (127.1.x.y) and peer id, join PER_PEER of the
torrents in HASHES_FILE (hex info-hashes, one a line; peer i takes torrents i, i+1, ...): the
fill. Then they announce again, round after round, until SECONDS have passed: the steady state.
Each peer speaks over one keep-alive connection from its own address, as a host would. Prints one
JSON line: per phase the announces, failures, announces per second and p50/p99 latency, and the
mean number of peers an answer carried.
"""
import http.client
import json
import multiprocessing
import os
import sys
import time
import urllib.parse


def address(i):
    return "127.1.%d.%d" % (i // 250, i % 250 + 1)


def announce_path(info_hash, peer):
    query = urllib.parse.urlencode({
        "info_hash": bytes.fromhex(info_hash),
        "peer_id": ("-BENCH-%013d" % peer).encode(),
        "port": 20000 + peer % 40000, "uploaded": 0, "downloaded": 0, "left": 1000,
        "compact": 1, "numwant": 50,
    })
    return "/announce?" + query


def count_peers(body):
    # d8:completei..e...5:peers<len>:<6 bytes each>: enough to find the compact peer string.
    at = body.find(b"5:peers")
    if at < 0:
        return 0
    colon = body.find(b":", at + 7)
    return int(body[at + 7:colon]) // 6


def connect(port, peer):
    return http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                      source_address=(address(peer), 0))


def one_peer(port, hashes, peer, per_peer, latencies, answered):
    conn = connect(port, peer)
    failures = 0
    for k in range(per_peer):
        path = announce_path(hashes[(peer + k) % len(hashes)], peer)
        start = time.perf_counter()
        try:
            conn.request("GET", path)
            res = conn.getresponse()
            body = res.read()
            if res.status != 200 or b"failure reason" in body:
                failures += 1
            else:
                answered.append(count_peers(body))
        except (OSError, http.client.HTTPException):
            failures += 1
            conn.close()
            conn = connect(port, peer)
        latencies.append(time.perf_counter() - start)
    conn.close()
    return failures


def worker(args):
    port, hashes, peers, per_peer, seconds = args
    phases = {}
    for phase in ("fill", "steady"):
        latencies, answered, failures = [], [], 0
        start = time.perf_counter()
        deadline = start + seconds
        rounds = 0
        while True:
            for peer in peers:
                failures += one_peer(port, hashes, peer, per_peer, latencies, answered)
                if phase == "steady" and time.perf_counter() >= deadline:
                    break
            rounds += 1
            if phase == "fill" or time.perf_counter() >= deadline or rounds >= 1000:
                break
        phases[phase] = (latencies, answered, failures, time.perf_counter() - start)
    return phases


def summary(results, phase):
    latencies = sorted(x for r in results for x in r[phase][0])
    answered = [x for r in results for x in r[phase][1]]
    failures = sum(r[phase][2] for r in results)
    seconds = max(r[phase][3] for r in results)
    n = len(latencies)
    return {
        "announces": n, "failures": failures, "seconds": round(seconds, 2),
        "per_second": round(n / seconds) if seconds else 0,
        "p50_ms": round(latencies[n // 2] * 1000, 2) if n else None,
        "p99_ms": round(latencies[min(n - 1, n * 99 // 100)] * 1000, 2) if n else None,
        "peers_per_answer": round(sum(answered) / len(answered), 1) if answered else 0,
    }


def main():
    port, hashes_file, peers, per_peer, seconds, processes = sys.argv[1:7]
    with open(hashes_file) as f:
        hashes = [line.strip() for line in f if line.strip()]
    peers, processes = int(peers), int(processes)
    jobs = [(int(port), hashes, range(p, peers, processes), int(per_peer), float(seconds))
            for p in range(processes)]
    with multiprocessing.Pool(processes) as pool:
        results = pool.map(worker, jobs)
    print(json.dumps({"fill": summary(results, "fill"), "steady": summary(results, "steady")}))


if __name__ == "__main__":
    main()
