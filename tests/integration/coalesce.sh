#!/usr/bin/env bash
# Many clients asking for one uncached blob at once share one upstream fetch, and each gets
# the right bytes.
source "$(dirname "$0")/lib.sh"

rp=$(free_port); pp=$(free_port)
start_registry reg "$rp"
start_proxy px "$pp" --upstream "http://127.0.0.1:$rp"
make_image "$RK_TMP/img" v1 1 $((48 * 1024 * 1024))
push_image "$RK_TMP/img" v1 "127.0.0.1:$rp/demo/big:v1"
layer=${LAYER_DIGESTS[0]}

pids=()
for i in 1 2 3 4 5 6; do
  curl -sf -o "$RK_TMP/copy.$i" "http://127.0.0.1:$pp/v2/demo/big/blobs/$layer" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || fail "a client's download failed"; done
for i in 1 2 3 4 5 6; do
  expect_eq "$(rk_file_digest "$RK_TMP/copy.$i")" "$layer" "digest of client $i's copy"
done
expect_eq "$(registry_blob_gets reg "$layer")" 1 "registry GETs for six concurrent clients"
joined=$(metric "http://127.0.0.1:$pp" rookery_proxy_blob_fetches_joined_total)
hits=$(metric "http://127.0.0.1:$pp" rookery_proxy_blob_cache_hits_total)
expect_eq "$((joined + hits))" 5 "clients served by the shared fetch or the cache"
pass "six concurrent clients, one upstream fetch ($joined joined in flight, $hits from cache)"
