#!/usr/bin/env bash
# Benchmarks for rookery-proxy (issue: foundation). Prints measured figures; not a pass/fail test.
#  1. A cached 1 GiB blob served by rookery-proxy vs the same blob served by docker-registry
#     from its filesystem store: same client (curl to /dev/null), loopback, alternating runs.
#     Target ratio (proxy / registry throughput) >= 1.2.
#  2. Peak RSS of rookery-proxy while it streams a 2 GiB blob cold from upstream to a client.
#     Target <= 64 MiB.
# Usage: bench/proxy.sh [RUNS]   (default 5 runs each side)
source "$(dirname "$0")/../tests/integration/lib.sh"
runs=${1:-5}

speed() { curl -s -o /dev/null -w '%{speed_download}' "$1"; }

rp=$(free_port); pp=$(free_port); pc=$(free_port)
start_registry reg "$rp"
echo "generating 1 GiB and 2 GiB random blobs..."
head -c $((1 << 30)) /dev/urandom > "$RK_TMP/blob1g"
head -c $((2 << 30)) /dev/urandom > "$RK_TMP/blob2g"
d1=$(push_blob "$rp" bench/big "$RK_TMP/blob1g")
d2=$(push_blob "$rp" bench/big "$RK_TMP/blob2g")
rm -f "$RK_TMP/blob1g" "$RK_TMP/blob2g"

# --- 1. cached throughput ----------------------------------------------------------------
start_proxy px "$pp" --upstream "http://127.0.0.1:$rp"
curl -sf -o /dev/null "http://127.0.0.1:$pp/v2/bench/big/blobs/$d1" || fail "warming the proxy cache"
: > "$RK_TMP/reg.speeds"; : > "$RK_TMP/proxy.speeds"
for ((i = 0; i < runs; i++)); do
  speed "http://127.0.0.1:$rp/v2/bench/big/blobs/$d1" >> "$RK_TMP/reg.speeds"; echo >> "$RK_TMP/reg.speeds"
  speed "http://127.0.0.1:$pp/v2/bench/big/blobs/$d1" >> "$RK_TMP/proxy.speeds"; echo >> "$RK_TMP/proxy.speeds"
done
reg=$(rk_median < "$RK_TMP/reg.speeds"); prx=$(rk_median < "$RK_TMP/proxy.speeds")
awk -v r="$reg" -v p="$prx" -v n="$runs" 'BEGIN {
  printf "cached 1 GiB blob, median of %d runs each (curl -o /dev/null, loopback):\n", n
  printf "  docker-registry  %8.0f MiB/s\n", r / 1048576
  printf "  rookery-proxy    %8.0f MiB/s\n", p / 1048576
  printf "  ratio proxy/registry = %.2f (target >= 1.2)\n", p / r
}'

# --- 2. peak RSS, cold 2 GiB ---------------------------------------------------------------
start_proxy cold "$pc" --upstream "http://127.0.0.1:$rp"
cold_pid=$PROXY_PID
rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$cold_pid/status")
t=$(curl -s -o /dev/null -w '%{time_total} %{size_download}' "http://127.0.0.1:$pc/v2/bench/big/blobs/$d2")
read -r secs bytes <<<"$t"
[ "$bytes" = $((2 << 30)) ] || fail "cold 2 GiB download got $bytes bytes"
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$cold_pid/status")
awk -v h="$hwm" -v b="$rss_before" -v s="$secs" 'BEGIN {
  printf "cold 2 GiB blob streamed from upstream through the proxy in %.1fs (%.0f MiB/s)\n", s, 2048 / s
  printf "  proxy RSS at start %.1f MiB, peak (VmHWM) %.1f MiB (target <= 64 MiB)\n", b / 1024, h / 1024
}'
