#!/usr/bin/env bash
# Crash safety: the proxy is killed with SIGKILL at random moments while clients pull many cold
# blobs at once (and manifests start prefetches), then restarted, over and over. Each restart
# leaves no temporary file behind; a client whose download completed got the right bytes; in
# the end every blob in the store hashes to its name, a store check (--fsck) finds nothing to
# quarantine, and every blob and manifest pulls with the right bytes.
source "$(dirname "$0")/lib.sh"

ROUNDS=${RK_CRASH_ROUNDS:-60}
CLIENTS=8
rp=$(free_port); pp=$(free_port)
start_registry reg "$rp"

# 20 distinct blobs of 1 to 12 MiB; pairs of them also form 4 images (config + layer).
blobs=() sizes=()
for i in $(seq 0 19); do
  head -c $(((RANDOM % 11 + 1) * 1024 * 1024 + RANDOM)) /dev/urandom > "$RK_TMP/blob.$i"
  blobs+=("$(push_blob "$rp" demo/crash "$RK_TMP/blob.$i")")
  sizes+=("$(stat -c %s "$RK_TMP/blob.$i")")
done
for t in 0 1 2 3; do
  push_manifest "$rp" demo/crash "t$t" "${blobs[2 * t]}" "${sizes[2 * t]}" "${blobs[2 * t + 1]}" \
    "${sizes[2 * t + 1]}" > "$RK_TMP/manifest.$t"
done

store=$RK_TMP/px/store
mkdir -p "$RK_TMP/px"
# launch [ARGS...]: the proxy on $pp, its log appended across restarts. Sets PROXY_PID.
launch() {
  "$ROOKERY_BUILD/registry-proxy/rookery-proxy" --listen "127.0.0.1:$pp" --store "$store" \
    --upstream "http://127.0.0.1:$rp" --cache-budget-mib 96 "$@" >> "$RK_TMP/px/proxy.log" 2>&1 &
  PROXY_PID=$!
  RK_PIDS+=("$PROXY_PID")
  wait_http "http://127.0.0.1:$pp/healthz"
}
temp_files() { { find "$store/blobs/tmp" "$store/manifests/tmp" -type f 2>/dev/null || true; } | wc -l; }

kills=0 mid_fetch=0 completed=0 cut=0
for round in $(seq 1 "$ROUNDS"); do
  # Forget a third of the cache while the proxy is down, so every round has cold blobs.
  { find "$store/blobs/blobs/sha256" -type f 2>/dev/null || true; } | shuf -n 7 | xargs -r rm -f
  launch
  left=$(temp_files)
  [ "$left" = 0 ] || fail "round $round: $left temporary files survived the restart"
  pids=() wanted=()
  for c in $(seq 1 "$CLIENTS"); do
    if [ "$c" = 1 ] && [ $((round % 2)) = 0 ]; then
      curl -s -o /dev/null "http://127.0.0.1:$pp/v2/demo/crash/manifests/t$((RANDOM % 4))" &
      pids+=($!) wanted+=(manifest)
    else
      i=$((RANDOM % 20))
      curl -sf -o "$RK_TMP/out.$c" "http://127.0.0.1:$pp/v2/demo/crash/blobs/${blobs[i]}" &
      pids+=($!) wanted+=("${blobs[i]}")
    fi
  done
  sleep "0.$(printf '%03d' $((RANDOM % 250)))"
  [ "$(temp_files)" = 0 ] || mid_fetch=$((mid_fetch + 1))
  kill -KILL "$PROXY_PID"
  wait "$PROXY_PID" 2>/dev/null || true
  kills=$((kills + 1))
  for c in $(seq 1 "$CLIENTS"); do
    ok=0
    wait "${pids[c - 1]}" || ok=$?
    [ "${wanted[c - 1]}" = manifest ] && continue
    if [ "$ok" = 0 ]; then
      expect_eq "$(rk_file_digest "$RK_TMP/out.$c")" "${wanted[c - 1]}" "round $round client $c: a complete download"
      completed=$((completed + 1))
    else
      cut=$((cut + 1))
    fi
  done
done
[ "$kills" -ge 50 ] || fail "only $kills kills"
[ "$mid_fetch" -ge 10 ] || fail "only $mid_fetch kills hit a fetch in progress (test did not bite)"
[ "$cut" -ge 10 ] || fail "only $cut downloads were cut by a kill (test did not bite)"
pass "$kills SIGKILLs ($mid_fetch while blobs were being written): $completed complete downloads all correct, $cut cut"

# check_store_files: every committed blob and manifest hashes to its name; sets checked.
check_store_files() {
  checked=0
  local sum
  for f in "$store"/blobs/blobs/sha256/* "$store"/manifests/blobs/sha256/*; do
    # The running proxy may evict a blob (96 MiB budget) between the listing and the read.
    sum=$(sha256sum < "$f" 2>/dev/null | cut -d' ' -f1) || true
    if [ -z "$sum" ]; then
      [ -e "$f" ] && fail "stored file $f unreadable"
      continue
    fi
    expect_eq "$sum" "$(basename "$f")" "stored file $f"
    checked=$((checked + 1))
  done
}
check_store_files
[ "$checked" -ge 1 ] || fail "nothing in the store after the kills"
pass "the $checked blobs and manifests left in the store by the kills hash to their names"

# A restart with the store check: nothing to quarantine, no temporary file, every pull works.
nblobs=$(find "$store/blobs/blobs/sha256" -type f | wc -l)
launch --fsck
expect_eq "$(temp_files)" 0 "temporary files after the last restart"
grep -q "store check of $store/blobs: $nblobs verified ([0-9]* bytes), 0 quarantined" "$RK_TMP/px/proxy.log" \
  || fail "the store check did not pass all $nblobs blobs: $(grep 'store check' "$RK_TMP/px/proxy.log" | tail -2)"
[ ! -d "$store/blobs/quarantine" ] || fail "a check quarantined $(ls "$store/blobs/quarantine")"
! grep -q "does not match its digest" "$RK_TMP/px/proxy.log" || fail "a restart found a damaged blob"
for i in $(seq 0 19); do
  curl -sf -o "$RK_TMP/final" "http://127.0.0.1:$pp/v2/demo/crash/blobs/${blobs[i]}" || fail "pull of blob $i after the kills"
  expect_eq "$(rk_file_digest "$RK_TMP/final")" "${blobs[i]}" "blob $i after the kills"
done
for t in 0 1 2 3; do
  curl -sf -o "$RK_TMP/final" "http://127.0.0.1:$pp/v2/demo/crash/manifests/t$t" || fail "pull of manifest t$t"
  expect_eq "$(rk_file_digest "$RK_TMP/final")" "$(cat "$RK_TMP/manifest.$t")" "manifest t$t after the kills"
done
check_store_files
pass "after the kills: store check clean, 20 blobs and 4 manifests pull with the right bytes, $checked stored files hash to their names"
