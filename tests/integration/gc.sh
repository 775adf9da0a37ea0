#!/usr/bin/env bash
# `rookery gc` evicts cached blobs down to a target (or the proxy's budget), least recently used
# first, and passes over a blob a slow client is still reading: that read completes with the
# right bytes, and evicted blobs are fetched again correctly afterwards. In a swarm, a blob a
# proxy is uploading to another host is passed over too, and its torrent goes with it once idle.
source "$(dirname "$0")/lib.sh"
ROOKERY=$ROOKERY_BUILD/cli/rookery
MIB=$((1024 * 1024))

rp=$(free_port); pp=$(free_port)
start_registry reg "$rp"
start_proxy px "$pp" --upstream "http://127.0.0.1:$rp" --cache-budget-mib 64 \
  --operator-token-file "$RK_TMP/operator-token"
proxy=http://127.0.0.1:$pp

# One 24 MiB blob (more than loopback's socket buffers hold, so a slow reader keeps it open)
# and six of 3 MiB: 42 MiB cached, under the 64 MiB budget.
head -c $((24 * MIB)) /dev/urandom > "$RK_TMP/big"
big=$(push_blob "$rp" demo/gc "$RK_TMP/big")
small=()
for i in 0 1 2 3 4 5; do
  head -c $((3 * MIB)) /dev/urandom > "$RK_TMP/small$i"
  small+=("$(push_blob "$rp" demo/gc "$RK_TMP/small$i")")
done
get_blob() { curl -sf -o "$2" "$proxy/v2/demo/gc/blobs/$1" || fail "GET $1 failed"; }
get_blob "$big" "$RK_TMP/got-big"
for d in "${small[@]}"; do get_blob "$d" "$RK_TMP/got"; done
expect_eq "$(curl -s "$proxy/v1/status" | jq .store.bytes)" $((42 * MIB)) "bytes cached"

# A client reads the big blob at 2 MiB/s; then the small ones are used again, so the big blob
# is the least recently used, the first gc would take were it not in use.
curl -sf --limit-rate 2M -o "$RK_TMP/slow-big" "$proxy/v2/demo/gc/blobs/$big" &
slow=$!
RK_PIDS+=("$slow")
wait_until 10 test -s "$RK_TMP/slow-big" || fail "the slow read did not start"
for d in "${small[@]}"; do get_blob "$d" "$RK_TMP/got"; done

report=$("$ROOKERY" gc --proxy "$proxy" --to 30 --operator-token-file "$RK_TMP/operator-token" --json)
kill -0 "$slow" 2>/dev/null || fail "the slow read ended before gc ran"
expect_eq "$(jq -c '.gc | [.target_bytes, .freed_blobs, .freed_bytes, .kept_blobs, .kept_bytes, .in_use_blobs, .in_use_bytes]' <<<"$report")" \
  "[$((30 * MIB)),4,$((12 * MIB)),3,$((30 * MIB)),1,$((24 * MIB))]" "gc report"
expect_eq "$(curl -s "$proxy/v1/status" | jq .store.bytes)" $((30 * MIB)) "bytes cached after gc"
expect_eq "$(find "$RK_TMP/px/store/blobs/blobs/sha256" -type f | wc -l)" 3 "blob files after gc"
expect_eq "$(metric "$proxy" rookery_proxy_gc_freed_bytes_total)" $((12 * MIB)) "gc metric"
pass "gc freed 12 MiB down to 30 MiB, passing over the 24 MiB blob being read"

wait "$slow" || fail "the slow read failed"
expect_eq "$(rk_file_digest "$RK_TMP/slow-big")" "$big" "the slow read's bytes"
pass "the slow read completed with the right sha256"

# The four least recently used small blobs went: they come from the registry again, intact.
for i in 0 1 2 3; do
  get_blob "${small[$i]}" "$RK_TMP/again$i"
  expect_eq "$(rk_file_digest "$RK_TMP/again$i")" "${small[$i]}" "re-fetched blob $i"
  expect_eq "$(registry_blob_gets reg "${small[$i]}")" 2 "registry GETs of evicted blob $i"
done
expect_eq "$(registry_blob_gets reg "${small[5]}")" 1 "registry GETs of a kept blob"
pass "evicted blobs were fetched again and verified"

# No target: the proxy's budget (64 MiB) holds everything already.
report=$("$ROOKERY" gc --proxy "$proxy" --operator-token-file "$RK_TMP/operator-token" --json)
expect_eq "$(jq -c '.gc | [.target_bytes, .freed_blobs]' <<<"$report")" "[$((64 * MIB)),0]" "gc to the budget"
# Nothing is in use any more: a gc to 0 takes everything, and the big blob is served again.
report=$("$ROOKERY" gc --proxy "$proxy" --to 0 --operator-token-file "$RK_TMP/operator-token" --json)
expect_eq "$(jq -c '.gc | [.kept_bytes, .in_use_blobs]' <<<"$report")" "[0,0]" "gc to 0"
get_blob "$big" "$RK_TMP/big-again"
expect_eq "$(rk_file_digest "$RK_TMP/big-again")" "$big" "big blob fetched again"
pass "gc to the budget and to zero"

# Without the operator token: refused, nothing evicted.
expect_eq "$(oci_code "$proxy/v1/gc" -X POST)" "401 UNAUTHORIZED" "gc without a token"
if ROOKERY_OPERATOR_TOKEN=wrong "$ROOKERY" gc --proxy "$proxy" --to 0 2>"$RK_TMP/gc.err"; then
  fail "gc with a wrong token succeeded"
fi
grep -q "401" "$RK_TMP/gc.err" || fail "the CLI did not say why: $(cat "$RK_TMP/gc.err")"
expect_eq "$(oci_code "$proxy/v1/gc" -X POST -H "Authorization: Bearer $RK_OPERATOR_TOKEN" -d '{"target_bytes":-1}')" \
  "400 SIZE_INVALID" "gc with a negative target"
expect_eq "$(curl -s "$proxy/v1/status" | jq .store.blobs)" 1 "blobs after refused gcs"
pass "gc needs the operator token and a valid target"

# In a swarm: proxy A holds a blob, proxy B downloads it (at 2 MiB/s) from A and the seeder. A gc
# on A passes over the blob while it uploads; once B is done and A idle, the gc takes the blob
# and its torrent.
sp=$(free_port); pa=$(free_port); pb=$(free_port)
start_seeder seed "$sp" "$rp"
start_swarm_proxy swarm-a "$pa" "$rp" "$sp" --operator-token-file "$RK_TMP/operator-token"
start_swarm_proxy swarm-b "$pb" "$rp" "$sp" --download-limit-kib 2048
head -c $((16 * MIB)) /dev/urandom > "$RK_TMP/shared"
shared=$(push_blob "$rp" demo/swarm "$RK_TMP/shared")
curl -sf -o /dev/null "http://127.0.0.1:$pa/v2/demo/swarm/blobs/$shared" || fail "proxy A could not fetch"
expect_eq "$(torrent_count "$pa")" 1 "torrents on A"
# A seeds the store's copy: the torrent's own name for the blob, if any, is that same file.
a_blob=$RK_TMP/swarm-a/store/blobs/blobs/sha256/${shared#sha256:}
a_download=$RK_TMP/swarm-a/store/swarm/downloads/${shared#sha256:}/${shared#sha256:}
[ ! -e "$a_download" ] || [ "$a_download" -ef "$a_blob" ] || fail "A keeps a second copy of the blob"
curl -sf -o "$RK_TMP/via-b" "http://127.0.0.1:$pb/v2/demo/swarm/blobs/$shared" &
reader=$!
RK_PIDS+=("$reader")
# a_uploaded: payload bytes A's torrents sent to peers (its detailed status).
a_uploaded() { operator_curl "http://127.0.0.1:$pa/v1/status" | jq '[.swarm.torrents[].uploaded] | add // 0'; }
a_uploading() { [ "$(a_uploaded)" -gt 0 ]; }
# gc_a_to_0: A's gc to 0 MiB, as JSON.
gc_a_to_0() { "$ROOKERY" gc --proxy "http://127.0.0.1:$pa" --to 0 --operator-token-file "$RK_TMP/operator-token" --json; }
wait_until 10 a_uploading || fail "A uploaded nothing to B"
report=$(gc_a_to_0)
kill -0 "$reader" 2>/dev/null || fail "B finished before A's gc ran"
expect_eq "$(jq -c '.gc | [.freed_blobs, .in_use_blobs, .kept_bytes]' <<<"$report")" "[0,1,$((16 * MIB))]" "A's gc during the upload"
wait "$reader" || fail "B's download failed"
expect_eq "$(rk_file_digest "$RK_TMP/via-b")" "$shared" "the blob B downloaded"
pass "a gc passed over a blob while it uploaded to another host ($(a_uploaded) bytes); that host got it intact"
# a_collected: A's gc to 0 took the blob (A's upload rate has decayed to zero).
a_collected() { [ "$(gc_a_to_0 | jq .gc.freed_blobs)" = 1 ]; }
wait_until 30 a_collected || fail "A's gc never took the blob once idle"
a_no_torrent() { [ "$(torrent_count "$pa")" = 0 ]; }
wait_until 5 a_no_torrent || fail "A still has the torrent of an evicted blob"
[ ! -e "$a_download" ] || fail "the evicted blob lives on under the torrent's name"
pass "once idle, the gc took the blob and its torrent"
