#!/usr/bin/env bash
# A client never hangs on the proxy: a dead or silent upstream gives a fast 503, a misbehaving
# one a 502, and corrupt or truncated blobs are never committed or completed to a client.
source "$(dirname "$0")/lib.sh"

digest=sha256:$(printf 'x%.0s' {1..64} | tr x a)

# Nothing listens upstream: refused at once.
dead=$(free_port); p1=$(free_port)
start_proxy dead "$p1" --upstream "http://127.0.0.1:$dead"
t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "http://127.0.0.1:$p1/v2/demo/app/manifests/v1")
read -r code secs <<<"$t"
expect_eq "$code" 503 "manifest with a dead upstream"
awk -v s="$secs" 'BEGIN { exit !(s < 1.0) }' || fail "dead upstream took ${secs}s"
expect_eq "$(oci_code "http://127.0.0.1:$p1/v2/demo/app/blobs/$digest")" "503 UNAVAILABLE" "blob with a dead upstream"
pass "dead upstream: 503 in ${secs}s"

# Upstream accepts and never answers: 503 after the first-byte timeout (3 s here), no hang (the
# twin request a manifest GET gets after 1 s keeps to the same deadline).
hole=$(free_port); p2=$(free_port)
start_fake_upstream hole "$hole" blackhole
start_proxy silent "$p2" --upstream "http://127.0.0.1:$hole"
t=$(curl -s -m 20 -o /dev/null -w '%{http_code} %{time_total}' "http://127.0.0.1:$p2/v2/demo/app/manifests/v1")
read -r code secs <<<"$t"
expect_eq "$code" 503 "manifest with a silent upstream"
awk -v s="$secs" 'BEGIN { exit !(s >= 2.5 && s < 5.0) }' || fail "silent upstream answered after ${secs}s"
pass "silent upstream: 503 after ${secs}s"

# The registry's first answer is lost on the way (one connection held, as a saturated link can
# hold one): the twin request on a new connection gets the manifest, before the first times out.
rp=$(free_port); hp=$(free_port); p4=$(free_port)
start_registry reg "$rp"
make_image "$RK_TMP/img" v1 1 4096
push_image "$RK_TMP/img" v1 "127.0.0.1:$rp/demo/app:v1"
python3 "$(dirname "$0")/lose_first.py" "$hp" "$rp" > "$RK_TMP/lose_first.log" 2>&1 &
RK_PIDS+=("$!")
wait_until 10 grep -qs listening "$RK_TMP/lose_first.log" || fail "the relay did not start"
start_proxy lossy "$p4" --upstream "http://127.0.0.1:$hp"
t0=$SECONDS
got=$(curl -sf -o /dev/null -D - "http://127.0.0.1:$p4/v2/demo/app/manifests/v1" \
  | tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }')
expect_eq "$got" "$MANIFEST_DIGEST" "manifest digest through the proxy"
grep -q held "$RK_TMP/lose_first.log" || fail "the relay held no request"
grep -q "answered after a second try" "$RK_TMP/lossy/proxy.log" || fail "the proxy did not log its twin"
pass "the registry's first answer lost: the twin request got the manifest ($((SECONDS - t0)) s)"

# Oversized manifest: refused with a clear error, proxy keeps serving.
huge=$(free_port); p3=$(free_port)
start_fake_upstream huge "$huge" huge-manifest
start_proxy huge "$p3" --upstream "http://127.0.0.1:$huge"
expect_eq "$(oci_code "http://127.0.0.1:$p3/v2/demo/app/manifests/v1")" "502 UNAVAILABLE" "5 MiB manifest"
curl -s "http://127.0.0.1:$p3/v2/demo/app/manifests/v1" | jq -e '.errors[0].detail == "upstream manifest larger than 4 MiB"' >/dev/null \
  || fail "oversized manifest without its reason"
pass "oversized upstream manifest: 502 with reason"

# Corrupt and truncated blobs: the client never gets a complete response, nothing is cached.
for mode in corrupt-blob truncated-blob; do
  up=$(free_port); px=$(free_port)
  start_fake_upstream "$mode" "$up" "$mode"
  start_proxy "px-$mode" "$px" --upstream "http://127.0.0.1:$up"
  for attempt in 1 2; do
    if curl -sf -o "$RK_TMP/$mode.out" "http://127.0.0.1:$px/v2/demo/app/blobs/$digest"; then
      fail "$mode: a client received a complete response"
    fi
  done
  stored=$(curl -s "http://127.0.0.1:$px/v1/status" | jq '.store.blobs')
  expect_eq "$stored" 0 "$mode: blobs committed"
  gets=$(grep -c "^GET /v2/demo/app/blobs/$digest" "$RK_TMP/$mode/fake.log")
  # A body cut short is asked for again from where it stopped; this upstream answers the
  # Range with a 200, so each client attempt costs one GET and one resume.
  per_attempt=1
  [ "$mode" = truncated-blob ] && per_attempt=2
  expect_eq "$gets" $((2 * per_attempt)) "$mode: upstream fetches (nothing cached between attempts)"
  [ -z "$(ls -A "$RK_TMP/px-$mode/store/blobs/tmp")" ] || fail "$mode: temporary files left"
  curl -sf "http://127.0.0.1:$px/healthz" >/dev/null || fail "$mode: proxy stopped serving"
  pass "$mode: never completed to a client, never committed"
done
