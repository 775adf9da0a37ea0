#!/usr/bin/python3
"""The testbed's once-a-second sampler, one process for the whole race (run it in the bridge's
namespace, where every link's far end is):

  sampler.py IDLE_FILE LINKS_FILE

Appends to IDLE_FILE the machine's CPU idle percent over each second, and to LINKS_FILE
"SECONDS ORIGIN_SENT HOSTS_RECEIVED": the time since the start and the bytes so far on the
bridge's side of the origin's link (received there) and summed over every host's link (sent
there). Samples once at the start, then each second for at most an hour.

A shell loop doing the same started five processes a second, which on a testbed that is already
CPU-bound took CPU from the race it measures. The process calls itself tb-sampler, so the
testbed's CPU seconds per kind of process do not count it with the stock peers (python3).
"""
import glob
import sys
import time


def cpu():
    """(total, idle) jiffies since boot, over the first eight fields as /proc/stat gives them."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:9]]
    return sum(fields), fields[3] + fields[4]


def counter(path):
    with open(path) as f:
        return int(f.read())


def links(t0):
    origin = counter("/sys/class/net/v-origin/statistics/rx_bytes")
    hosts = sum(counter(p) for p in glob.glob("/sys/class/net/v-h*/statistics/tx_bytes"))
    return f"{time.monotonic() - t0:.3f} {origin} {hosts}\n"


def main(idle_file, links_file):
    with open("/proc/self/comm", "w") as f:
        f.write("tb-sampler")
    t0 = time.monotonic()
    with open(idle_file, "a", buffering=1) as idle_out, open(links_file, "a", buffering=1) as links_out:
        links_out.write(links(t0))
        total, idle = cpu()
        for n in range(1, 3601):
            time.sleep(max(0.0, t0 + n - time.monotonic()))
            total2, idle2 = cpu()
            if total2 > total:
                idle_out.write(f"{100 * (idle2 - idle) // (total2 - total)}\n")
            total, idle = total2, idle2
            links_out.write(links(t0))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
