#!/usr/bin/env bash
# Benchmarks for the P2P path (issue: P2P). Prints measured figures; not a pass/fail test.
#  1. Time to first byte through a proxy for a cold 1 GiB layer the seeder already seeds.
#     Target <= 100 ms.
#  2. One proxy, no other peers, cold 1 GiB layer: throughput through the swarm path vs the
#     same client (curl) pulling the blob straight from docker-registry. Target ratio >= 0.8.
#  3. Seeder: time to seed a 1 GiB layer (POST /v1/seed: fetch from the registry, verify, hash
#     pieces, start seeding; the code path a push notification runs) vs `sha256sum` of the
#     same file. Target ratio <= 1.3.
# Usage: bench/p2p.sh [RUNS]   (default 3; needs ~6 GB in /tmp)
source "$(dirname "$0")/../tests/integration/lib.sh"
runs=${1:-3}

rp=$(free_port); sp=$(free_port)
start_registry reg "$rp"
start_seeder seed "$sp" "$rp"
echo "generating a 1 GiB layer..."
head -c $((1 << 30)) /dev/urandom > "$RK_TMP/layer"
echo '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' > "$RK_TMP/config"
layer=$(push_blob "$rp" bench/big "$RK_TMP/layer")
config=$(push_blob "$rp" bench/big "$RK_TMP/config")
push_manifest "$rp" bench/big v1 "$config" "$(stat -c %s "$RK_TMP/config")" "$layer" $((1 << 30)) >/dev/null

# --- 3. seeding vs sha256sum -----------------------------------------------------------------
sha256sum "$RK_TMP/layer" >/dev/null  # both sides start from a warm page cache
sha=$( { /usr/bin/time -f '%e' sha256sum "$RK_TMP/layer" >/dev/null; } 2>&1 )
seed=$(curl -s -o "$RK_TMP/seed.json" -w '%{time_total}' -X POST -d '{"image":"bench/big:v1"}' "http://127.0.0.1:$sp/v1/seed")
jq -e --arg d "$layer" '.blobs[] | select(.digest == $d) | .info_hash' "$RK_TMP/seed.json" >/dev/null \
  || fail "seeding failed: $(cat "$RK_TMP/seed.json")"
rm -f "$RK_TMP/layer"
awk -v a="$seed" -v b="$sha" 'BEGIN {
  printf "seeder: 1 GiB layer from registry to seeding in %.2fs; sha256sum of the file %.2fs; ratio %.2f (target <= 1.3)\n", a, b, a / b
}'

# --- 1 & 2. cold pulls through one proxy vs straight from the registry --------------------------
: > "$RK_TMP/ttfb"; : > "$RK_TMP/swarm"; : > "$RK_TMP/direct"
for ((i = 0; i < runs; i++)); do
  port=$(free_port)
  start_swarm_proxy "px$i" "$port" "$rp" "$sp"
  # Time to the first body byte, on a cold proxy; then throughput on another cold proxy.
  python3 "$(dirname "$0")/first_byte.py" "http://127.0.0.1:$port/v2/bench/big/blobs/$layer" >> "$RK_TMP/ttfb"
  stop_pid "$PROXY_PID"
  rm -rf "$RK_TMP/px$i"
  start_swarm_proxy "px$i" "$port" "$rp" "$sp"
  curl -s -o /dev/null -w '%{speed_download}\n' "http://127.0.0.1:$port/v2/bench/big/blobs/$layer" >> "$RK_TMP/swarm"
  upstream=$(metric "http://127.0.0.1:$port" rookery_proxy_blob_bytes_from_upstream_total)
  [ "$upstream" = 0 ] || echo "  (run $i: $upstream bytes came from upstream, not the swarm)"
  stop_pid "$PROXY_PID"
  rm -rf "$RK_TMP/px$i"
  curl -s -o /dev/null -w '%{speed_download}\n' "http://127.0.0.1:$rp/v2/bench/big/blobs/$layer" >> "$RK_TMP/direct"
done
ttfb=$(rk_median < "$RK_TMP/ttfb"); swarm=$(rk_median < "$RK_TMP/swarm"); direct=$(rk_median < "$RK_TMP/direct")
awk -v t="$ttfb" -v s="$swarm" -v d="$direct" -v n="$runs" 'BEGIN {
  printf "cold 1 GiB layer through one proxy (seeder already seeding, no other peers), median of %d runs:\n", n
  printf "  time to first byte %.0f ms (target <= 100 ms)\n", t * 1000
  printf "  swarm path %.0f MiB/s, straight from docker-registry %.0f MiB/s, ratio %.2f (target >= 0.8)\n", s / 1048576, d / 1048576, s / d
}'
