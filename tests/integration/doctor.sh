#!/usr/bin/env bash
# `rookery doctor` on a host set up by `rookery setup`: a registry, a seeder and two proxies on
# loopback; a private containerd whose config.toml sets config_path, and podman, pull through
# proxy 1 with the files setup wrote. Doctor then reports every check ok, bytes from peers, and
# a probe pull of an image proxy 1 has not seen that comes from peers. A mirror pointing
# elsewhere (containerd, podman, docker), a dead proxy and a dead seeder each give FAIL with the
# reason and exit 1. Both binaries' /metrics parse with the Prometheus client's own parser, carry
# the latency histograms, and every metric the Grafana dashboard uses exists in them.
source "$(dirname "$0")/lib.sh"
ROOKERY=$ROOKERY_BUILD/cli/rookery
DASHBOARD=$RK_EXAMPLES/grafana/rookery.json

rp=$(free_port); sp=$(free_port); p1=$(free_port); p2=$(free_port)
reg=127.0.0.1:$rp
RK_NOTIFY_URL=http://127.0.0.1:$sp/v1/notifications start_registry reg "$rp"
start_seeder seed "$sp" "$rp"
for img in app other; do
  make_image "$RK_TMP/$img" v1 2 $((1024 * 1024))
  push_image "$RK_TMP/$img" v1 "$reg/demo/$img:v1"
done
wait_seeded "$sp" 6
# Podman and Docker name no ns, containerd names the registry: the seeder fronts both. The
# default stall time (15 s) outlasts the tracker's announce interval (5 s): a host that comes
# after another finished learns of that peer from the tracker, since the seeder dealt it every
# piece already.
for name in px1:$p1 px2:$p2; do
  start_proxy "${name%%:*}" "${name##*:}" --upstream "http://$reg" --upstream "$reg=http://$reg" \
    --seeder "default,$reg=http://127.0.0.1:$sp" --bt-listen "127.0.0.1:$(free_port)"
done
proxy=http://127.0.0.1:$p1

# Host 1 is set up for containerd and podman the way an operator would.
"$ROOKERY" setup containerd --proxy "$proxy" --registry "$reg=http://$reg" --path "$RK_TMP/certs.d" >/dev/null
"$ROOKERY" setup podman --proxy "$proxy" --registry "$reg=http://$reg" --path "$RK_TMP/registries.conf" >/dev/null
start_containerd ctrd "[plugins.\"io.containerd.grpc.v1.cri\".registry]
  config_path = \"$RK_TMP/certs.d\""
podman_pull() {
  CONTAINERS_REGISTRIES_CONF=$1 podman --root "$RK_TMP/podman/root" --runroot "$RK_TMP/podman/run" \
    --storage-driver vfs --events-backend file --cgroup-manager cgroupfs pull -q "$2"
}

# Host 2 has the app already; host 1 pulls it with containerd, then podman.
skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$p2/demo/app:v1" "dir:$RK_TMP/out2" || fail "skopeo through proxy 2"
ctr --address "$CTR_ADDRESS" images pull --hosts-dir "$RK_TMP/certs.d" --snapshotter native "$reg/demo/app:v1" \
  > "$RK_TMP/ctr.log" 2>&1 || fail "ctr pull: $(tail -5 "$RK_TMP/ctr.log")"
podman_pull "$RK_TMP/registries.conf" "$reg/demo/app:v1" > "$RK_TMP/podman.log" 2>&1 || fail "podman pull: $(tail -5 "$RK_TMP/podman.log")"
[ "$(metric "$proxy" rookery_proxy_blob_bytes_from_peers_total)" -gt 0 ] || fail "proxy 1 received nothing from peers"

# doctor ARGS...: runs doctor on host 1 with the test's files, JSON out; sets DOCTOR_RC.
doctor() {
  DOCTOR_RC=0
  "$ROOKERY" doctor --proxy "$proxy" --containerd-config "$CTR_CONFIG" --registry "$reg" --timeout 60 \
    --json "$@" > "$RK_TMP/doctor.json" 2> "$RK_TMP/doctor.err" || DOCTOR_RC=$?
}
# check_status NAME: the status doctor gave the check named NAME.
check_status() { jq -r --arg n "$1" '.checks[] | select(.check == $n) | .status' "$RK_TMP/doctor.json"; }
check_detail() { jq -r --arg n "$1" '.checks[] | select(.check == $n) | .detail' "$RK_TMP/doctor.json"; }

# 1. Everything set up: no FAIL; config_path is read (a warning only: this containerd has no CRI).
doctor containerd podman --podman-config "$RK_TMP/registries.conf"
expect_eq "$DOCTOR_RC" 0 "doctor's exit status on a good host ($(cat "$RK_TMP/doctor.json" "$RK_TMP/doctor.err"))"
expect_eq "$(jq -r .ok "$RK_TMP/doctor.json")" true "doctor's verdict"
expect_eq "$(check_status "containerd config.toml")" warn "config.toml check (CRI disabled here)"
expect_eq "$(check_status "containerd hosts.toml ($reg)")" ok "containerd hosts.toml check"
expect_eq "$(check_status "podman registries.conf")" ok "podman check"
expect_eq "$(check_status proxy)" ok "proxy check"
expect_eq "$(check_status seeder)" ok "seeder check"
expect_eq "$(check_status "p2p since start")" ok "p2p check ($(check_detail "p2p since start"))"
pass "doctor after setup and real pulls: containerd and podman point at the proxy, seeder up, P2P hits"

# 2. A probe of an image only host 2 has: its bytes come from peers. The text report too.
skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$p2/demo/other:v1" "dir:$RK_TMP/out3" || fail "skopeo other"
before=$(metric "$proxy" rookery_proxy_blob_bytes_from_peers_total)
"$ROOKERY" doctor --proxy "$proxy" --probe demo/other:v1 --timeout 60 > "$RK_TMP/probe.txt" 2>&1 \
  || fail "doctor --probe: $(cat "$RK_TMP/probe.txt")"
grep -q '^ok    probe demo/other:v1: 3 blobs' "$RK_TMP/probe.txt" || fail "probe line: $(cat "$RK_TMP/probe.txt")"
after=$(metric "$proxy" rookery_proxy_blob_bytes_from_peers_total)
# Not necessarily every byte: a layer the swarm does not deliver in 15 s comes from upstream.
[ "$after" -gt "$before" ] || fail "none of the probe's bytes came from peers ($before → $after)"
cat "$RK_TMP/probe.txt"
pass "doctor --probe pulls through the proxy and sees the bytes come from peers"

# 3. Broken configuration: each mirror points at another port.
other=http://127.0.0.1:$(free_port)
sed "s|$proxy|$other|" "$RK_TMP/certs.d/$reg/hosts.toml" > "$RK_TMP/hosts.bad"
mkdir -p "$RK_TMP/bad.d/$reg" && mv "$RK_TMP/hosts.bad" "$RK_TMP/bad.d/$reg/hosts.toml"
sed "s|127.0.0.1:$p1|${other#http://}|" "$RK_TMP/registries.conf" > "$RK_TMP/registries.bad"
printf '{"registry-mirrors": ["%s"], "insecure-registries": ["%s"]}\n' "$other" "${other#http://}" > "$RK_TMP/daemon.bad"
doctor containerd podman docker --containerd-hosts "$RK_TMP/bad.d" --podman-config "$RK_TMP/registries.bad" \
  --docker-config "$RK_TMP/daemon.bad"
expect_eq "$DOCTOR_RC" 1 "doctor's exit status with mirrors elsewhere"
for c in "containerd hosts.toml ($reg)" "podman registries.conf" "docker daemon.json"; do
  expect_eq "$(check_status "$c")" FAIL "$c with the mirror elsewhere"
done
check_detail "containerd hosts.toml ($reg)" | grep -q "sends pulls to $other, not to the proxy at $proxy" \
  || fail "containerd reason: $(check_detail "containerd hosts.toml ($reg)")"
check_detail "docker daemon.json" | grep -q "without the proxy $proxy" || fail "docker reason: $(check_detail "docker daemon.json")"
# What doctor calls broken really is: podman with that file never reaches proxy 1.
requests=$(metric "$proxy" rookery_proxy_requests_total)
podman_pull "$RK_TMP/registries.bad" "$reg/demo/other:v1" > "$RK_TMP/podman-bad.log" 2>&1 || true
expect_eq "$(( $(metric "$proxy" rookery_proxy_requests_total) - requests ))" 1 "requests at proxy 1 from podman with the bad file (the scrape itself)"
"$ROOKERY" doctor docker --proxy "$proxy" --docker-config "$RK_TMP/daemon.bad" > "$RK_TMP/text.txt" && fail "text mode exit 0"
grep -q '^FAIL  docker daemon.json: registry-mirrors is' "$RK_TMP/text.txt" || fail "text report: $(cat "$RK_TMP/text.txt")"
pass "mirrors pointing elsewhere: FAIL with the reason, exit 1"

# 4. A dead proxy, then a dead seeder.
"$ROOKERY" doctor --proxy "http://127.0.0.1:$(free_port)" --json > "$RK_TMP/dead.json" && fail "dead proxy exit 0"
expect_eq "$(jq -r '.checks[0].status + " " + .checks[0].check' "$RK_TMP/dead.json")" "FAIL proxy" "dead proxy"
stop_pid "$SEEDER_PID"
doctor
expect_eq "$DOCTOR_RC" 1 "exit status with the seeder down"
expect_eq "$(check_status seeder)" FAIL "seeder check with the seeder down"
pass "a dead proxy or seeder is a FAIL"

# 5. /metrics: the Prometheus client's parser reads both; histograms and the dashboard's names.
start_seeder seed2 "$sp" "$rp"
curl -sf "$proxy/metrics" > "$RK_TMP/proxy.prom"
curl -sf "http://127.0.0.1:$sp/announce?x" >/dev/null || true
curl -sf "http://127.0.0.1:$sp/metrics" > "$RK_TMP/seeder.prom"
/usr/bin/python3 - "$RK_TMP/proxy.prom" "$RK_TMP/seeder.prom" "$DASHBOARD" <<'PY' || fail "metrics check"
import json, re, sys
from prometheus_client.parser import text_string_to_metric_families
families = {}
for path in sys.argv[1:3]:
    for f in text_string_to_metric_families(open(path).read()):
        families[f.name] = f
h = families["rookery_proxy_request_duration_seconds"]
assert h.type == "histogram", h.type
blob = [s for s in h.samples if s.labels.get("route") == "blob"]
count = [s.value for s in blob if s.name.endswith("_count")][0]
inf = [s.value for s in blob if s.labels.get("le") == "+Inf"][0]
assert count >= 6 and count == inf, (count, inf)
assert families["rookery_seeder_request_duration_seconds"].type == "histogram"
# The parser names a counter family without its _total suffix.
assert families["rookery_proxy_swarm_fallbacks"].type == "counter"
dash = json.load(open(sys.argv[3]))
used = set()
for panel in dash["panels"]:
    for t in panel["targets"]:
        used |= set(re.findall(r"rookery_[a-z_]+", t["expr"]))
for v in dash["templating"]["list"]:
    used |= set(re.findall(r"rookery_[a-z_]+", v.get("query", "")))
exposed = set()
for f in families.values():
    exposed |= {s.name for s in f.samples}
missing = sorted(used - exposed)
assert not missing, f"the dashboard uses metrics nobody exposes: {missing}"
print(f"{len(used)} dashboard metrics exposed; {int(count)} blob requests timed")
PY
pass "both /metrics parse, carry latency histograms, and have every metric the dashboard uses"
