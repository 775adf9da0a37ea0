#!/usr/bin/env bash
# A cached blob that went bad on disk is never served: --fsck hashes the store at start and
# moves a blob with a flipped byte to quarantine/, and the next pull fetches it afresh from
# upstream with the right bytes; a blob whose file changed size is quarantined when it is opened,
# with or without --fsck. Healthy blobs stay cached.
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
printf '\xff' | dd of="$blobs/blobs/sha256/${rot#sha256:}" bs=1 seek=1000000 conv=notrunc status=none
[ "$(rk_file_digest "$blobs/blobs/sha256/${rot#sha256:}")" != "$rot" ] || fail "the byte flip did not change the blob"
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

# Truncated behind the proxy's back, no --fsck: quarantined when opened, fetched afresh.
stop_pid "$PROXY_PID"
truncate -s 1000 "$blobs/blobs/sha256/${trunc#sha256:}"
start_proxy px "$pp" --upstream "http://127.0.0.1:$rp"
curl -sf -o "$RK_TMP/got" "$(url "$trunc")" || fail "pull of the truncated blob"
expect_eq "$(rk_file_digest "$RK_TMP/got")" "$trunc" "bytes of the truncated blob's pull"
expect_eq "$(registry_blob_gets reg "$trunc")" 2 "registry GETs of the truncated blob"
[ -f "$blobs/quarantine/${trunc#sha256:}" ] || fail "the truncated blob is not in quarantine/"
pass "a truncated blob is never served: quarantined on open, fetched afresh"
