#!/usr/bin/env bash
# A cached blob that went bad on disk is never served: --fsck hashes the store at start and
# moves a blob with a flipped byte to quarantine/, and the next pull fetches it afresh from
# upstream with the right bytes. Without --fsck a blob found at start is hashed before its
# first serve; a file that changes size while the proxy runs is quarantined when opened; a
# cached manifest is hashed on every serve. Healthy blobs stay cached.
source "$(dirname "$0")/lib.sh"

rp=$(free_port); pp=$(free_port)
start_registry reg "$rp"
for name in rot keep trunc; do head -c 2000000 /dev/urandom > "$RK_TMP/$name"; done
rot=$(push_blob "$rp" demo/app "$RK_TMP/rot")
keep=$(push_blob "$rp" demo/app "$RK_TMP/keep")
trunc=$(push_blob "$rp" demo/app "$RK_TMP/trunc")
url() { echo "http://127.0.0.1:$pp/v2/demo/app/blobs/$1"; }
blobs=$RK_TMP/px/store/blobs

start_proxy px "$pp" --upstream "http://127.0.0.1:$rp"
for d in "$rot" "$keep" "$trunc"; do curl -sf -o /dev/null "$(url "$d")" || fail "first pull of $d"; done
stop_pid "$PROXY_PID"

# One byte flipped in place, size unchanged: only hashing can tell.
rk_flip_byte "$blobs/blobs/sha256/${rot#sha256:}" 1000000
start_proxy px "$pp" --upstream "http://127.0.0.1:$rp" --fsck
grep -q "store check of $blobs: 2 verified ([0-9]* bytes), 1 quarantined" "$RK_TMP/px/proxy.log" \
  || fail "store check: $(grep 'store check' "$RK_TMP/px/proxy.log")"
[ -f "$blobs/quarantine/${rot#sha256:}" ] || fail "the bad blob is not in quarantine/"
[ ! -e "$blobs/blobs/sha256/${rot#sha256:}" ] || fail "the bad blob is still in the store"
curl -sf -o "$RK_TMP/got" "$(url "$rot")" || fail "pull of the quarantined blob"
expect_eq "$(rk_file_digest "$RK_TMP/got")" "$rot" "bytes of the blob after quarantine"
expect_eq "$(registry_blob_gets reg "$rot")" 2 "registry GETs of the bad blob (fetched afresh)"
curl -sf -o "$RK_TMP/got" "$(url "$keep")" || fail "pull of the healthy blob"
expect_eq "$(rk_file_digest "$RK_TMP/got")" "$keep" "bytes of the healthy blob"
expect_eq "$(registry_blob_gets reg "$keep")" 1 "registry GETs of the healthy blob (still cached)"
expect_eq "$(rk_file_digest "$blobs/blobs/sha256/${rot#sha256:}")" "$rot" "the blob committed again"
pass "--fsck quarantined the flipped blob, which then came fresh from upstream; the healthy one stayed cached"

# Without --fsck: a blob found on disk at start is hashed before it is first served. One with a
# flipped byte and one truncated across a restart are quarantined and fetched afresh.
stop_pid "$PROXY_PID"
rk_flip_byte "$blobs/blobs/sha256/${keep#sha256:}" 5
truncate -s 1000 "$blobs/blobs/sha256/${trunc#sha256:}"
start_proxy px "$pp" --upstream "http://127.0.0.1:$rp"
for d in "$keep" "$trunc"; do
  curl -sf -o "$RK_TMP/got" "$(url "$d")" || fail "pull of damaged $d without --fsck"
  expect_eq "$(rk_file_digest "$RK_TMP/got")" "$d" "bytes of damaged $d without --fsck"
  expect_eq "$(registry_blob_gets reg "$d")" 2 "registry GETs of damaged $d"
  [ -f "$blobs/quarantine/${d#sha256:}" ] || fail "damaged $d is not in quarantine/"
done
# Five clients at once want a healthy blob not hashed since start: one hash, all served.
pids=()
for i in 1 2 3 4 5; do
  curl -sf -o "$RK_TMP/got.$i" "$(url "$rot")" &
  pids+=($!)
done
for i in 1 2 3 4 5; do
  wait "${pids[i - 1]}" || fail "client $i of a healthy blob after restart"
  expect_eq "$(rk_file_digest "$RK_TMP/got.$i")" "$rot" "client $i's copy of a healthy blob after restart"
done
expect_eq "$(registry_blob_gets reg "$rot")" 2 "registry GETs of a healthy blob after restart (cached)"
expect_eq "$(metric "http://127.0.0.1:$pp" rookery_proxy_blob_verifications_total)" 3 \
  "cached blobs hashed (two damaged, one healthy asked for by five clients at once)"
pass "without --fsck: blobs found at start are hashed once before their first serve; damaged ones quarantined and fetched afresh"

# While the proxy runs: a blob truncated behind its back is quarantined when opened (its size
# no longer matches the index), never served short.
truncate -s 1000 "$blobs/blobs/sha256/${keep#sha256:}"
curl -sf -o "$RK_TMP/got" "$(url "$keep")" || fail "pull of a blob truncated while running"
expect_eq "$(rk_file_digest "$RK_TMP/got")" "$keep" "bytes of a blob truncated while running"
expect_eq "$(registry_blob_gets reg "$keep")" 3 "registry GETs of the blob truncated while running"

# A cached manifest with a flipped byte is not served either: it is hashed on every serve.
cfg=$(push_blob "$rp" demo/app "$RK_TMP/rot")
m=$(push_manifest "$rp" demo/app v1 "$cfg" 2000000 "$trunc" 2000000)
curl -sf -o /dev/null "http://127.0.0.1:$pp/v2/demo/app/manifests/v1" || fail "manifest by tag"
mfile=$RK_TMP/px/store/manifests/blobs/sha256/${m#sha256:}
[ -f "$mfile" ] || fail "the manifest was not cached"
sed -i 's/schemaVersion/schemaVersioN/' "$mfile"
curl -sf -o "$RK_TMP/got" "http://127.0.0.1:$pp/v2/demo/app/manifests/$m" || fail "manifest by digest"
expect_eq "$(rk_file_digest "$RK_TMP/got")" "$m" "bytes of a damaged cached manifest"
[ -f "$RK_TMP/px/store/manifests/quarantine/${m#sha256:}" ] || fail "the damaged manifest is not in quarantine/"
pass "a blob truncated while running and a damaged cached manifest are never served"

# The seeder's --fsck: a seeded blob with a flipped byte is quarantined before it is seeded, and
# the next host that asks for its metainfo makes the seeder fetch it afresh.
sp=$(free_port)
start_seeder seed "$sp" "$rp"
code=$(operator_curl -o /dev/null -w '%{http_code}' -X POST -d '{"image":"demo/app:v1"}' "http://127.0.0.1:$sp/v1/seed")
expect_eq "$code" 200 "POST /v1/seed"
wait_seeded "$sp" 2
stop_pid "$SEEDER_PID"
sfile=$RK_TMP/seed/store/blobs/sha256/${trunc#sha256:}
rk_flip_byte "$sfile" 7
start_seeder seed "$sp" "$rp" --fsck
grep -q "store check of $RK_TMP/seed/store: 1 verified ([0-9]* bytes), 1 quarantined" "$RK_TMP/seed/seeder.log" \
  || fail "seeder store check: $(grep 'store check' "$RK_TMP/seed/seeder.log")"
[ -f "$RK_TMP/seed/store/quarantine/${trunc#sha256:}" ] || fail "the seeder did not quarantine the bad blob"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$sp/v1/blobs/$trunc/torrent?repo=demo/app")
expect_eq "$code" 200 "metainfo of the quarantined blob"
expect_eq "$(rk_file_digest "$sfile")" "$trunc" "the seeder's copy fetched afresh"
pass "seeder --fsck quarantined a damaged blob and fetched it afresh when a host asked"
