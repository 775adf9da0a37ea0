#!/usr/bin/env bash
# Disk full: the proxy's store is a 24 MiB tmpfs, filled until 4 MiB are free, and a client pulls
# a 12 MiB blob. The client gets the right bytes, a clean OCI error, or a cut connection after a
# prefix of the right bytes (never wrong bytes, never a complete wrong blob); nothing partial is
# committed or left in tmp/; the proxy keeps serving its cache and fetching what fits; with no
# space at all a fetch answers a clean OCI error; once the filler is deleted the same pull
# succeeds and is cached. Needs root (mount).
source "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
  echo "skip: mounting a tmpfs needs root"
  exit 77
fi
mnt=$RK_TMP/px/store
mkdir -p "$mnt"
mount -t tmpfs -o size=24m,mode=0700 rookery-disk-full "$mnt"
disk_full_cleanup() {
  if [ -n "${PROXY_PID:-}" ]; then stop_pid "$PROXY_PID" 2>/dev/null || true; fi
  umount "$mnt" 2>/dev/null || umount -l "$mnt"
  rk_cleanup
}
trap disk_full_cleanup EXIT

rp=$(free_port); pp=$(free_port)
start_registry reg "$rp"
head -c 1000000 /dev/urandom > "$RK_TMP/small"
head -c 2000000 /dev/urandom > "$RK_TMP/fits"
head -c 12000000 /dev/urandom > "$RK_TMP/big"
small=$(push_blob "$rp" demo/app "$RK_TMP/small")
fits=$(push_blob "$rp" demo/app "$RK_TMP/fits")
big=$(push_blob "$rp" demo/app "$RK_TMP/big")
url() { echo "http://127.0.0.1:$pp/v2/demo/app/blobs/$1"; }
free_bytes() { df -B1 --output=avail "$mnt" | tail -1 | tr -d ' '; }

start_proxy px "$pp" --upstream "http://127.0.0.1:$rp"
curl -sf -o /dev/null "$(url "$small")" || fail "first pull of the small blob"
head -c $(($(free_bytes) - 4 * 1024 * 1024)) /dev/zero > "$mnt/filler"
before=$(free_bytes)
[ "$before" -lt $((5 * 1024 * 1024)) ] || fail "the filler left $before bytes free"

# The big blob does not fit.
rc=0
code=$(curl -s -o "$RK_TMP/got" -w '%{http_code}' "$(url "$big")") || rc=$?
got=$(stat -c %s "$RK_TMP/got")
if [ "$rc" = 0 ] && [ "$code" = 200 ]; then
  expect_eq "$(rk_file_digest "$RK_TMP/got")" "$big" "bytes of the big blob streamed with the disk full"
  outcome="the right bytes"
elif [ "$rc" = 0 ]; then
  jq -e '.errors[0].code' "$RK_TMP/got" >/dev/null || fail "status $code without an OCI error body"
  outcome="$code $(jq -r '.errors[0].code' "$RK_TMP/got")"
else
  [ "$got" -lt 12000000 ] || fail "a cut download has every byte"
  cmp -s -n "$got" "$RK_TMP/got" "$RK_TMP/big" || fail "the $got bytes received before the cut are wrong"
  outcome="a cut connection after $got correct bytes (curl exit $rc)"
fi
[ ! -e "$mnt/blobs/blobs/sha256/${big#sha256:}" ] || fail "a blob that did not fit was committed"
[ -z "$(ls -A "$mnt/blobs/tmp")" ] || fail "temporary files left: $(ls -l "$mnt/blobs/tmp")"
after=$(free_bytes)
[ "$after" -ge $((before - 64 * 1024)) ] || fail "the failed fetch holds $((before - after)) bytes of disk"
grep -q "fetch of $big failed .*: No space left on device" "$RK_TMP/px/proxy.log" || fail "the failed fetch was not logged with its cause"
pass "disk full mid-fetch: the client got $outcome; nothing committed, no temporary file left"

# Still serving: the cache, and new blobs that fit.
curl -sf -o "$RK_TMP/got" "$(url "$small")" || fail "the cached blob with the disk full"
expect_eq "$(rk_file_digest "$RK_TMP/got")" "$small" "cached blob with the disk full"
expect_eq "$(registry_blob_gets reg "$small")" 1 "registry GETs of the cached blob"
curl -sf -o "$RK_TMP/got" "$(url "$fits")" || fail "a blob that fits, with the disk nearly full"
expect_eq "$(rk_file_digest "$RK_TMP/got")" "$fits" "a blob that fits"
pass "keeps serving its cache and fetching what fits"

# Completely full: a fetch that cannot store its first byte answers a clean OCI error.
head -c "$(free_bytes)" /dev/zero > "$mnt/filler2" 2>/dev/null || true
expect_eq "$(free_bytes)" 0 "free bytes after the second filler"
head -c 500000 /dev/urandom > "$RK_TMP/none"
none=$(push_blob "$rp" demo/app "$RK_TMP/none")
code=$(curl -s -o "$RK_TMP/got" -w '%{http_code}' "$(url "$none")") || fail "curl of a blob with no space at all"
expect_eq "$code $(jq -r '.errors[0].code' "$RK_TMP/got" 2>/dev/null)" "500 UNKNOWN" "a blob with no space at all"
curl -sf -o "$RK_TMP/got" "$(url "$small")" || fail "the cached blob with no space at all"
expect_eq "$(rk_file_digest "$RK_TMP/got")" "$small" "cached blob with no space at all"
rm -f "$mnt/filler2"
pass "no space at all: a clean 500 OCI error, the cache still serves"

# Space returns: the same pull succeeds and is cached.
rm -f "$mnt/filler"
curl -sf -o "$RK_TMP/got" "$(url "$big")" || fail "the big blob once space returned"
expect_eq "$(rk_file_digest "$RK_TMP/got")" "$big" "the big blob once space returned"
[ -f "$mnt/blobs/blobs/sha256/${big#sha256:}" ] || fail "the big blob was not cached once space returned"
pass "recovers once space returns: the big blob pulls and is cached"
