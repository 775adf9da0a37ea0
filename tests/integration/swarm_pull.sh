#!/usr/bin/env bash
# registry + seeder + four proxies as separate processes. A push alone makes the seeder seed
# every blob (registry notification). All four proxies then pull at once with skopeo while the
# seeder's upload is rate-limited: every layer checks out, most bytes travel between the
# proxies, and the registry sends each blob once in total (to the seeder).
source "$(dirname "$0")/lib.sh"

rp=$(free_port); sp=$(free_port)
RK_NOTIFY_URL=http://127.0.0.1:$sp/v1/notifications start_registry reg "$rp"
start_seeder seed "$sp" "$rp" --upload-limit-kib 3072
make_image "$RK_TMP/img" v1 4 $((6 * 1024 * 1024))
push_image "$RK_TMP/img" v1 "127.0.0.1:$rp/demo/app:v1"
expected=$(image_digests)
image_bytes=$(( $(cat "$RK_TMP"/img/blobs/sha256/* | wc -c) - $(stat -c %s "$RK_TMP/img/blobs/sha256/${MANIFEST_DIGEST#sha256:}") ))

wait_seeded "$sp" 5
expect_eq "$(metric "http://127.0.0.1:$sp" rookery_seeder_torrents_served_total)" 0 "metainfo handed out before any pull"
pass "the push notification alone made the seeder seed all 5 blobs"

ports=()
for i in 1 2 3 4; do
  ports+=("$(free_port)")
  start_swarm_proxy "px$i" "${ports[-1]}" "$rp" "$sp"
done
pids=()
for i in 1 2 3 4; do
  skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:${ports[$((i - 1))]}/demo/app:v1" "dir:$RK_TMP/out$i" &
  pids+=($!)
done

for pid in "${pids[@]}"; do wait "$pid" || fail "a concurrent pull failed"; done
for i in 1 2 3 4; do
  expect_eq "$(digests_in_dir "$RK_TMP/out$i")" "$expected" "layers pulled through proxy $i"
done
pass "four concurrent pulls, every layer checks out"

received=0; upstream=0; in_place=0
for port in "${ports[@]}"; do
  in_place=$((in_place + $(metric "http://127.0.0.1:$port" rookery_proxy_blob_bytes_stored_in_place_total)))
  curl -s "http://127.0.0.1:$port/metrics" | grep -q "^rookery_proxy_swarm_redundant_bytes_total [0-9]" \
    || fail "proxy on $port exports no rookery_proxy_swarm_redundant_bytes_total"
  received=$((received + $(metric "http://127.0.0.1:$port" rookery_proxy_blob_bytes_from_peers_total)))
  upstream=$((upstream + $(metric "http://127.0.0.1:$port" rookery_proxy_blob_bytes_from_upstream_total)))
done
from_seeder=$(metric "http://127.0.0.1:$sp" rookery_seeder_bytes_uploaded_total)
total=$((received + upstream))
from_proxies=$((received - from_seeder))
echo "proxies received $total bytes: $from_proxies from other proxies, $from_seeder from the seeder, $upstream from upstream (image $image_bytes bytes)"
[ "$total" -ge $((4 * image_bytes)) ] || fail "proxies received less than four images"
[ $((2 * from_proxies)) -ge "$total" ] || fail "less than half of the bytes came from other proxies"
for d in "${LAYER_DIGESTS[@]}" "$CONFIG_DIGEST"; do
  gets=$(registry_blob_gets reg "$d")
  [ "$gets" -le 1 ] || fail "registry served $d $gets times"
done
pass "at least half the bytes came from other proxies; the registry sent each blob at most once"

# libtorrent's file is the stored blob: every byte from the swarm was hashed there, none copied.
[ "$in_place" -ge "$received" ] && [ "$received" -gt 0 ] \
  || fail "only $in_place of the $received bytes from the swarm were stored in place"
pass "the store kept libtorrent's files: $in_place bytes stored without a copy"
