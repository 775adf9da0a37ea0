#!/usr/bin/env bash
# Benchmarks for rookery-proxy (issue: foundation). Prints measured figures; not a pass/fail test.
#  1. A cached 1 GiB blob served by rookery-proxy vs the same blob served by docker-registry
#     from its filesystem store: same client (curl to /dev/null), loopback, alternating runs;
#     min / median / max of each side and of the per-pair ratio. Target median ratio >= 1.2.
#  2. Peak RSS of rookery-proxy while it streams a 2 GiB blob cold from upstream to a client.
#     Target <= 64 MiB.
# Usage: bench/proxy.sh [RUNS]   (default 9 runs each side)
source "$(dirname "$0")/../tests/integration/lib.sh"
runs=${1:-9}

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
# Alternating pairs, so a noisy moment hits both sides; each pair also gives a ratio.
start_proxy px "$pp" --upstream "http://127.0.0.1:$rp"
curl -sf -o /dev/null "http://127.0.0.1:$pp/v2/bench/big/blobs/$d1" || fail "warming the proxy cache"
: > "$RK_TMP/reg.speeds"; : > "$RK_TMP/proxy.speeds"; : > "$RK_TMP/ratios"
for ((i = 0; i < runs; i++)); do
  r=$(speed "http://127.0.0.1:$rp/v2/bench/big/blobs/$d1")
  p=$(speed "http://127.0.0.1:$pp/v2/bench/big/blobs/$d1")
  echo "$r" >> "$RK_TMP/reg.speeds"; echo "$p" >> "$RK_TMP/proxy.speeds"
  awk -v r="$r" -v p="$p" 'BEGIN {print p / r}' >> "$RK_TMP/ratios"
done
read -r reg_min reg_med reg_max < <(rk_spread < "$RK_TMP/reg.speeds")
read -r prx_min prx_med prx_max < <(rk_spread < "$RK_TMP/proxy.speeds")
read -r rat_min rat_med rat_max < <(rk_spread < "$RK_TMP/ratios")
printf 'cached 1 GiB blob, %d alternating runs each (curl -o /dev/null, loopback), MiB/s min / median / max:\n' "$runs"
awk -v a="$reg_min" -v b="$reg_med" -v c="$reg_max" 'BEGIN {printf "  docker-registry  %6.0f / %6.0f / %6.0f\n", a / 1048576, b / 1048576, c / 1048576}'
awk -v a="$prx_min" -v b="$prx_med" -v c="$prx_max" 'BEGIN {printf "  rookery-proxy    %6.0f / %6.0f / %6.0f\n", a / 1048576, b / 1048576, c / 1048576}'
printf '  ratio proxy/registry per pair: %.2f / %.2f / %.2f (target: median >= 1.2)\n' "$rat_min" "$rat_med" "$rat_max"

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
