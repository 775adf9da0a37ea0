#!/usr/bin/env bash
# The seeder's web seed never serves a damaged copy under its digest: a stored layer with a
# flipped byte, found at start, is hashed before its first serve, answered 404 BLOB_UNKNOWN,
# moved to quarantine/ and no longer seeded; a healthy one is served as before. A proxy in the
# swarm still pulls the image with the right bytes, and the seeder fetches the layer afresh.
source "$(dirname "$0")/lib.sh"

rp=$(free_port); sp=$(free_port); pp=$(free_port)
start_registry reg "$rp"
make_image "$RK_TMP/img" v1 2 300000
push_image "$RK_TMP/img" v1 "127.0.0.1:$rp/demo/app:v1"
bad=${LAYER_DIGESTS[0]}
good=${LAYER_DIGESTS[1]}
s=http://127.0.0.1:$sp
web_seed() { echo "$s/v1/blobs/$1?repo=demo/app"; }
store=$RK_TMP/sd/store

start_seeder sd "$sp" "$rp"
operator_curl -X POST -d '{"image":"demo/app:v1"}' "$s/v1/seed" >/dev/null
wait_seeded "$sp" 3
curl -sf -o "$RK_TMP/got" "$(web_seed "$bad")" || fail "web seed of a healthy layer"
expect_eq "$(rk_file_digest "$RK_TMP/got")" "$bad" "web seed bytes before the damage"
stop_pid "$SEEDER_PID"

# One byte flipped in place while the seeder is down: the size still matches.
file=$store/blobs/sha256/${bad#sha256:}
[ -f "$file" ] || fail "no stored blob at $file"
rk_flip_byte "$file" 150000
start_seeder sd "$sp" "$rp"
wait_seeded "$sp" 3  # restored from saved metainfo, nothing hashed yet

expect_eq "$(oci_code "$(web_seed "$bad")")" "404 BLOB_UNKNOWN" "web seed of the damaged layer"
[ -f "$store/quarantine/${bad#sha256:}" ] || fail "the damaged layer is not in quarantine/"
[ ! -e "$file" ] || fail "the damaged layer is still in the store"
expect_eq "$(metric "$s" rookery_seeder_blobs_quarantined_total)" 1 "quarantined blobs"
expect_eq "$(seeded_count "$sp")" 2 "blobs seeded after the quarantine"
expect_eq "$(oci_code "$(web_seed "$bad")")" "404 BLOB_UNKNOWN" "web seed of the damaged layer, again"
curl -sf -o "$RK_TMP/got" "$(web_seed "$good")" || fail "web seed of the healthy layer"
expect_eq "$(rk_file_digest "$RK_TMP/got")" "$good" "web seed bytes of the healthy layer"
grep -q "stored blob $bad does not match its digest" "$RK_TMP/sd/seeder.log" \
  || fail "the seeder did not log the damaged layer"
pass "the damaged layer was refused and quarantined, the healthy one served"

start_swarm_proxy px "$pp" "$rp" "$sp"
skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$pp/demo/app:v1" "dir:$RK_TMP/pulled" \
  || fail "pull through the proxy after the quarantine"
expect_eq "$(digests_in_dir "$RK_TMP/pulled")" "$(image_digests)" "blobs the proxy served"
expect_eq "$(registry_blob_gets reg "$bad")" 2 "registry GETs of the damaged layer (fetched afresh)"
curl -sf -o "$RK_TMP/got" "$(web_seed "$bad")" || fail "web seed of the layer fetched afresh"
expect_eq "$(rk_file_digest "$RK_TMP/got")" "$bad" "web seed bytes after the fresh fetch"
pass "the proxy pulled the right bytes; the seeder fetched the layer again and serves it"
