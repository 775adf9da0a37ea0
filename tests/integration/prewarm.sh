#!/usr/bin/env bash
# registry + seeder + two proxies as separate processes, and the `rookery` CLI. `rookery prewarm`
# brings every blob of an image into both proxies' stores (through the swarm: bytes from peers),
# its JSON lines are well-formed and end with a total; a second prewarm of an image being warmed
# joins the first; a dead proxy in the host list makes prewarm exit non-zero naming it while the
# others finish; `rookery status` shows every host.
source "$(dirname "$0")/lib.sh"
ROOKERY=$ROOKERY_BUILD/cli/rookery

rp=$(free_port); sp=$(free_port)
RK_NOTIFY_URL=http://127.0.0.1:$sp/v1/notifications start_registry reg "$rp"
# A slow seeder: the proxies finish sooner by trading pieces with each other.
start_seeder seed "$sp" "$rp" --upload-limit-kib 4096
make_image "$RK_TMP/img" v1 4 $((3 * 1024 * 1024))
push_image "$RK_TMP/img" v1 "127.0.0.1:$rp/demo/app:v1"
expected=$(image_digests)
wait_seeded "$sp" 5

p1=$(free_port); p2=$(free_port); dead=$(free_port)
# --no-prefetch: only the prewarm fetches anything.
start_swarm_proxy px1 "$p1" "$rp" "$sp" --no-prefetch
start_swarm_proxy px2 "$p2" "$rp" "$sp" --no-prefetch
printf '# the test fleet\nhttp://127.0.0.1:%s\n\n  127.0.0.1:%s  # second host\n' "$p1" "$p2" > "$RK_TMP/hosts"

# store_digests NAME: sorted digests of the files in a proxy's blob store, hashed here.
store_digests() { rk_dir_digests "$RK_TMP/$1/store/blobs/blobs/sha256"; }

# check_lines FILE HOSTS_DONE FAILED: every line is a JSON object with an event, each host's own
# lines end with done/failed, and the last line is the total with those counts; prints it.
check_lines() {
  python3 - "$@" <<'PY'
import json, sys
path, done, failed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lines = open(path).read().splitlines()
assert lines, "no output"
events = [json.loads(line) for line in lines]
assert all(isinstance(e, dict) and "event" in e for e in events), "an event without a name"
*body, total = events
assert total["event"] == "total", f"last line is not the total: {total}"
assert total["hosts_done"] == done and len(total["failed"]) == failed, f"unexpected total {total}"
last = {}
for e in body:
    assert "host" in e, f"event without host: {e}"
    last[e["host"]] = e["event"]
    if e["event"].startswith("blob_"):
        assert e["digest"].startswith("sha256:") and e["bytes"] <= e["size"], e
        assert e["totals"]["bytes"] <= e["totals"]["total_bytes"], e
assert all(v in ("done", "failed") for v in last.values()), f"a host did not end: {last}"
print(json.dumps(total))
PY
}

# 1. Both proxies, through the hosts file; not a terminal, so JSON lines.
"$ROOKERY" prewarm demo/app:v1 --hosts "$RK_TMP/hosts" --timeout 120 > "$RK_TMP/out1.jsonl" 2> "$RK_TMP/err1" \
  || fail "prewarm failed: $(cat "$RK_TMP/err1")"
total=$(check_lines "$RK_TMP/out1.jsonl" 2 0) || fail "malformed progress lines: $(tail -3 "$RK_TMP/out1.jsonl")"
expect_eq "$(store_digests px1)" "$expected" "blobs in proxy 1's store"
expect_eq "$(store_digests px2)" "$expected" "blobs in proxy 2's store"
image_bytes=$(jq -r .total_bytes <<<"$total")
expect_eq "$(jq -r .bytes <<<"$total")" "$image_bytes" "bytes the total line reports"
peers=0
for port in "$p1" "$p2"; do
  peers=$((peers + $(curl -s "http://127.0.0.1:$port/v1/status" | jq .bytes.from_peers)))
done
[ "$peers" -gt 0 ] || fail "no byte came from peers"
expect_eq "$(jq -r .from_peers <<<"$total")" "$peers" "bytes from peers, CLI total vs the proxies' status"
[ "$(jq -r .from_upstream <<<"$total")" -lt "$image_bytes" ] || fail "as many bytes from upstream as the image has"
pass "prewarm filled both stores ($image_bytes bytes in all, $peers of them from peers); every line parses and a total ends them"

# 2. Idempotent: a second prewarm of an image being warmed joins the first.
make_image "$RK_TMP/img2" v2 3 $((3 * 1024 * 1024))
push_image "$RK_TMP/img2" v2 "127.0.0.1:$rp/demo/app:v2"
wait_seeded "$sp" 9
first=$(curl -sf -X POST -d '{"image":"demo/app:v2"}' "http://127.0.0.1:$p1/v1/prewarm") || fail "POST /v1/prewarm failed"
second=$(curl -sf -X POST -d '{"image":"demo/app:v2","platform":"linux/amd64"}' "http://127.0.0.1:$p1/v1/prewarm")
expect_eq "$(jq -r .joined <<<"$second")" true "second prewarm joined"
expect_eq "$(jq -r .id <<<"$second")" "$(jq -r .id <<<"$first")" "id of the joined prewarm"
curl -sfN "http://127.0.0.1:$p1/v1/prewarm/$(jq -r .id <<<"$first")" > "$RK_TMP/stream2" || fail "progress stream failed"
expect_eq "$(tail -n1 "$RK_TMP/stream2" | jq -r .event)" done "last event of the joined prewarm"
expect_eq "$(tail -n1 "$RK_TMP/stream2" | jq -r .totals.blobs_done)" 4 "blobs the joined prewarm did"
expect_eq "$(oci_code "http://127.0.0.1:$p1/v1/prewarm/0123456789abcdef0123456789abcdef")" "404 NOT_FOUND" "unknown prewarm id"
expect_eq "$(oci_code "http://127.0.0.1:$p1/v1/prewarm" -X POST -d '{"image":"Bad Name"}')" "400 NAME_INVALID" "bad image name"
expect_eq "$(oci_code "http://127.0.0.1:$p1/v1/prewarm" -X POST -d '{"image":"demo/none:v1"}' | cut -d' ' -f1)" 404 "image the registry does not have"
pass "a second prewarm joins the first (same id); unknown ids, bad names and missing images are refused"

# 3. A dead proxy between two live ones: non-zero exit naming it; the others finish.
rc=0
"$ROOKERY" prewarm demo/app:v2 --proxy "http://127.0.0.1:$p1" --proxy "http://127.0.0.1:$dead" \
  --proxy "http://127.0.0.1:$p2" --timeout 120 > "$RK_TMP/out3.jsonl" 2> "$RK_TMP/err3" || rc=$?
[ "$rc" -ne 0 ] || fail "prewarm with a dead proxy exited 0"
grep -q "127.0.0.1:$dead" "$RK_TMP/err3" || fail "the dead proxy is not named: $(cat "$RK_TMP/err3")"
! grep -q "127.0.0.1:$p2\|127.0.0.1:$p1" "$RK_TMP/err3" || fail "a live proxy is named as failed: $(cat "$RK_TMP/err3")"
check_lines "$RK_TMP/out3.jsonl" 2 1 >/dev/null || fail "malformed lines with a dead proxy"
expect_eq "$(store_digests px2)" "$(printf '%s\n' "$expected" "$(image_digests)" | sort)" "both images in proxy 2's store"
pass "a dead proxy: exit $rc naming it ($(cat "$RK_TMP/err3")), the live ones finished"

# 3b. A proxy that accepts connections and never answers: --timeout ends the wait, naming it.
hang=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); time.sleep(120)' "$hang" &
hang_pid=$!
RK_PIDS+=("$hang_pid")
rk_wait_until 10 rk_tcp_open 127.0.0.1 "$hang" || fail "the silent listener did not start"
rc=0
start=$SECONDS
"$ROOKERY" prewarm demo/app:v1 --proxy "http://127.0.0.1:$p1" --proxy "http://127.0.0.1:$hang" --timeout 3 \
  > "$RK_TMP/out3b.jsonl" 2> "$RK_TMP/err3b" || rc=$?
[ "$rc" -eq 1 ] || fail "prewarm with a silent proxy exited $rc"
[ $((SECONDS - start)) -le 10 ] || fail "--timeout 3 took $((SECONDS - start)) s"
grep -q "127.0.0.1:$hang: timed out after 3s" "$RK_TMP/err3b" || fail "the silent proxy is not named: $(cat "$RK_TMP/err3b")"
check_lines "$RK_TMP/out3b.jsonl" 1 1 >/dev/null || fail "malformed lines with a silent proxy"
stop_pid "$hang_pid"
pass "a silent proxy: --timeout 3 ended the prewarm, naming it; the other finished"

# 4. status of every host, as a table and as JSON lines.
"$ROOKERY" status --hosts "$RK_TMP/hosts" --seeder "http://127.0.0.1:$sp" > "$RK_TMP/status" || fail "status failed"
expect_eq "$(grep -c ' proxy ' "$RK_TMP/status")" 2 "proxy rows"
expect_eq "$(grep -c ' seeder ' "$RK_TMP/status")" 1 "seeder rows"
"$ROOKERY" status --proxy "http://127.0.0.1:$p1" --json > "$RK_TMP/status.jsonl" || fail "status --json failed"
expect_eq "$(jq -r .status.store.blobs "$RK_TMP/status.jsonl")" 9 "blobs proxy 1 holds"
rc=0
"$ROOKERY" status --proxy "http://127.0.0.1:$dead" > /dev/null 2>&1 || rc=$?
expect_eq "$rc" 1 "status of a dead proxy"
pass "rookery status lists every host"
