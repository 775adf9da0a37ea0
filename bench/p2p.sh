#!/usr/bin/env bash
# Benchmarks for the P2P path (issue: P2P). Prints measured figures; not a pass/fail test.
#  1. Time to first byte through a proxy for a cold 1 GiB layer the seeder already seeds.
#     Target <= 100 ms.
#  2. One proxy, no other peers, cold 1 GiB layer: throughput through the swarm path vs the
#     same client (curl) pulling the blob straight from docker-registry. Target ratio >= 0.6.
#  3. Seeder: time to seed a 1 GiB layer (POST /v1/seed: fetch from the registry, verify, hash
#     pieces, start seeding; the code path a push notification runs) vs `openssl dgst -sha256`
#     of the same file (SHA-NI; coreutils' sha256sum is printed too). Target ratio <= 1.3.
# Cold pulls print min / median / max over the runs, with the CPU seconds the proxy and the
# seeder used for each pull.
# Usage: bench/p2p.sh [RUNS]   (default 3; needs ~6 GB in /tmp)
# RK_BT_ARGS: more flags for the seeder and every proxy (e.g. "--bt-disk-io mmap" to measure
# libtorrent's other way of keeping files).
source "$(dirname "$0")/../tests/integration/lib.sh"
runs=${1:-3}
read -ra bt_args <<<"${RK_BT_ARGS:-}"

rp=$(free_port); sp=$(free_port)
start_registry reg "$rp"
start_seeder seed "$sp" "$rp" "${bt_args[@]}"
echo "generating a 1 GiB layer..."
head -c $((1 << 30)) /dev/urandom > "$RK_TMP/layer"
echo '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' > "$RK_TMP/config"
layer=$(push_blob "$rp" bench/big "$RK_TMP/layer")
config=$(push_blob "$rp" bench/big "$RK_TMP/config")
push_manifest "$rp" bench/big v1 "$config" "$(stat -c %s "$RK_TMP/config")" "$layer" $((1 << 30)) >/dev/null

# --- 3. seeding vs sha256sum -----------------------------------------------------------------
# The generated file and the registry's copy leave 2 GiB of dirty pages: written back first, so
# the seeder's own writes do not queue behind them (openssl reads from the cache either way).
sync
sha256sum "$RK_TMP/layer" >/dev/null  # both sides start from a warm page cache
sha=$( { /usr/bin/time -f '%e' sha256sum "$RK_TMP/layer" >/dev/null; } 2>&1 )
dgst=$( { /usr/bin/time -f '%e' openssl dgst -sha256 "$RK_TMP/layer" >/dev/null; } 2>&1 )
seed=$(operator_curl -o "$RK_TMP/seed.json" -w '%{time_total}' -X POST -d '{"image":"bench/big:v1"}' "http://127.0.0.1:$sp/v1/seed")
jq -e --arg d "$layer" '.blobs[] | select(.digest == $d) | .info_hash' "$RK_TMP/seed.json" >/dev/null \
  || fail "seeding failed: $(cat "$RK_TMP/seed.json")"
rm -f "$RK_TMP/layer"
awk -v a="$seed" -v b="$dgst" -v c="$sha" 'BEGIN {
  printf "seeder: 1 GiB layer from registry to seeding in %.2fs; openssl dgst -sha256 of the file %.2fs, ratio %.2f (target <= 1.3); sha256sum %.2fs\n", a, b, a / b, c
}'

# --- 1 & 2. cold pulls through one proxy vs straight from the registry --------------------------
: > "$RK_TMP/ttfb"; : > "$RK_TMP/swarm"; : > "$RK_TMP/direct"; : > "$RK_TMP/cpu_proxy"; : > "$RK_TMP/cpu_seeder"
# CPU seconds (user + system) a process has used so far.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f\n", ($14 + $15) / hz}' "/proc/$1/stat"; }
for ((i = 0; i < runs; i++)); do
  port=$(free_port)
  start_swarm_proxy "px$i" "$port" "$rp" "$sp" "${bt_args[@]}"
  # Time to the first body byte, on a cold proxy; then throughput on another cold proxy.
  python3 "$(dirname "$0")/first_byte.py" "http://127.0.0.1:$port/v2/bench/big/blobs/$layer" >> "$RK_TMP/ttfb"
  stop_pid "$PROXY_PID"
  rm -rf "$RK_TMP/px$i"
  start_swarm_proxy "px$i" "$port" "$rp" "$sp" "${bt_args[@]}"
  p0=$(cpu_seconds "$PROXY_PID"); s0=$(cpu_seconds "$SEEDER_PID")
  curl -s -o /dev/null -w '%{speed_download}\n' "http://127.0.0.1:$port/v2/bench/big/blobs/$layer" >> "$RK_TMP/swarm"
  awk -v a="$p0" -v b="$(cpu_seconds "$PROXY_PID")" 'BEGIN {print b - a}' >> "$RK_TMP/cpu_proxy"
  awk -v a="$s0" -v b="$(cpu_seconds "$SEEDER_PID")" 'BEGIN {print b - a}' >> "$RK_TMP/cpu_seeder"
  upstream=$(metric "http://127.0.0.1:$port" rookery_proxy_blob_bytes_from_upstream_total)
  [ "$upstream" = 0 ] || echo "  (run $i: $upstream bytes came from upstream, not the swarm)"
  stop_pid "$PROXY_PID"
  rm -rf "$RK_TMP/px$i"
  curl -s -o /dev/null -w '%{speed_download}\n' "http://127.0.0.1:$rp/v2/bench/big/blobs/$layer" >> "$RK_TMP/direct"
done
read -r t_min t_med t_max < <(rk_spread < "$RK_TMP/ttfb")
read -r s_min s_med s_max < <(rk_spread < "$RK_TMP/swarm")
read -r d_min d_med d_max < <(rk_spread < "$RK_TMP/direct")
read -r c_min c_med c_max < <(rk_spread < "$RK_TMP/cpu_proxy")
read -r e_min e_med e_max < <(rk_spread < "$RK_TMP/cpu_seeder")
awk -v n="$runs" -v t1="$t_min" -v t2="$t_med" -v t3="$t_max" -v s1="$s_min" -v s2="$s_med" -v s3="$s_max" \
  -v d1="$d_min" -v d2="$d_med" -v d3="$d_max" -v c1="$c_min" -v c2="$c_med" -v c3="$c_max" \
  -v e1="$e_min" -v e2="$e_med" -v e3="$e_max" 'BEGIN {
  m = 1048576
  printf "cold 1 GiB layer through one proxy (seeder already seeding, no other peers), %d runs, min / median / max:\n", n
  printf "  time to first byte %.0f / %.0f / %.0f ms (target <= 100 ms)\n", t1 * 1000, t2 * 1000, t3 * 1000
  printf "  swarm path %.0f / %.0f / %.0f MiB/s, straight from docker-registry %.0f / %.0f / %.0f MiB/s\n", s1 / m, s2 / m, s3 / m, d1 / m, d2 / m, d3 / m
  printf "  ratio of the medians %.2f (target >= 0.6)\n", s2 / d2
  printf "  CPU seconds per pull: proxy %.2f / %.2f / %.2f, seeder %.2f / %.2f / %.2f\n", c1, c2, c3, e1, e2, e3
}'
