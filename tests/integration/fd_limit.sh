#!/usr/bin/env bash
# Out of file descriptors: a proxy limited to 64 descriptors, held by 150 idle connections,
# neither spins on accept() (it backs off: little CPU while the clients wait) nor loses its
# cached blobs (EMFILE is not "deleted"); once the clients go it serves again, cache intact.
source "$(dirname "$0")/lib.sh"

rp=$(free_port); pp=$(free_port)
start_registry reg "$rp"
head -c 300000 /dev/urandom > "$RK_TMP/blob"
d=$(push_blob "$rp" demo/app "$RK_TMP/blob")
(ulimit -n 64 && exec "$ROOKERY_BUILD/registry-proxy/rookery-proxy" --listen "127.0.0.1:$pp" \
  --store "$RK_TMP/px/store" --upstream "http://127.0.0.1:$rp") > "$RK_TMP/proxy.log" 2>&1 &
PROXY_PID=$!
RK_PIDS+=("$PROXY_PID")
wait_http "http://127.0.0.1:$pp/healthz"
curl -sf -o /dev/null "http://127.0.0.1:$pp/v2/demo/app/blobs/$d" || fail "first pull"

# 150 idle connections: the proxy runs out of descriptors while they stay open.
python3 - "$pp" "$RK_TMP/hold" <<'PY' &
import socket, sys, time, os
socks = []
for _ in range(150):
    s = socket.socket(); s.settimeout(2)
    try:
        s.connect(("127.0.0.1", int(sys.argv[1]))); socks.append(s)
    except OSError:
        pass
open(sys.argv[2], "w").write(str(len(socks)))
time.sleep(4)
PY
holder=$!
wait_until 10 test -s "$RK_TMP/hold" || fail "the clients did not connect"
ticks() { awk '{print $14 + $15}' "/proc/$PROXY_PID/stat"; }
before=$(ticks); sleep 2; after=$(ticks)
used=$((after - before))  # clock ticks (1/100 s) in 2 s
[ "$used" -lt 50 ] || fail "the proxy used $used ticks of CPU in 2 s with no descriptors left (spinning?)"
grep -q "accept:" "$RK_TMP/proxy.log" || fail "the proxy never ran out of descriptors (test did not bite)"
pass "out of descriptors: $used/200 CPU ticks in 2 s, no spin"
wait "$holder"
wait_until 10 curl -sf -o "$RK_TMP/again" "http://127.0.0.1:$pp/v2/demo/app/blobs/$d" || fail "no service after the clients left"
expect_eq "$(sha256sum < "$RK_TMP/again" | cut -d' ' -f1)" "${d#sha256:}" "blob after the descriptor drought"
expect_eq "$(registry_blob_gets reg "$d")" 1 "registry GETs (the cached blob survived EMFILE)"
pass "serves again from its cache once descriptors are free"
