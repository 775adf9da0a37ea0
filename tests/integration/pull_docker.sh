#!/usr/bin/env bash
# `docker pull NAME` goes through rookery-proxy: a private dockerd (Debian's docker.io: own data
# root, exec root, socket; no iptables, no bridge, vfs) configured by examples/docker-daemon.json
# with only the mirror's port changed. Docker mirrors Docker Hub names only, so the image is
# pushed to the proxy's default upstream (a docker-registry on loopback) as library/NAME.
# The proxy must have served every blob, each fetched once from the registry, and `rookery doctor`
# must find that daemon.json pointing at the proxy.
source "$(dirname "$0")/lib.sh"
example=$RK_EXAMPLES/docker-daemon.json

dir=$RK_TMP/docker
mkdir -p "$dir/exec"
DOCKERD_PID=
# dockerd stops the containerd it started; one left behind (dockerd killed hard) is stopped here.
stop_dockerd() {
  local pid
  if [ -n "$DOCKERD_PID" ]; then
    kill "$DOCKERD_PID" 2>/dev/null || true
    rk_wait_until 20 eval '! kill -0 "$DOCKERD_PID" 2>/dev/null' || kill -9 "$DOCKERD_PID" 2>/dev/null || true
  fi
  pid=$(cat "$dir/exec/containerd/containerd.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    rk_wait_until 10 eval '! kill -0 "$pid" 2>/dev/null' || kill -9 "$pid" 2>/dev/null || true
  fi
}
trap 'stop_dockerd; rk_cleanup' EXIT

rp=$(free_port); pp=$(free_port)
start_registry reg "$rp"
start_proxy px "$pp" --upstream "http://127.0.0.1:$rp" --log-level debug
make_image "$RK_TMP/img" v1 2 200000
push_image "$RK_TMP/img" v1 "127.0.0.1:$rp/library/rookery-demo:v1"

# Docker sends one Accept field per media type, in a changing order; the proxy forwards them all
# (with only the first, the registry refuses this OCI manifest when a Docker type comes first).
status=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$pp/v2/library/rookery-demo/manifests/v1")
expect_eq "$status" 200 "status of an OCI manifest asked for with two Accept fields, the OCI type second"
pass "every Accept field reaches the registry"

skip() { echo "SKIP: $*"; exit 77; }
command -v dockerd >/dev/null || skip "no dockerd (Debian package docker.io)"
[ "$(id -u)" = 0 ] || skip "dockerd needs root"

# The example as it is, but for the mirror's port.
grep -q '127.0.0.1:5050' "$example" || fail "examples/docker-daemon.json no longer names 127.0.0.1:5050"
sed "s/127\.0\.0\.1:5050/127.0.0.1:$pp/g" "$example" > "$dir/daemon.json"
expect_eq "$(jq -r '."registry-mirrors"[0]' "$dir/daemon.json")" "http://127.0.0.1:$pp" "mirror in daemon.json"

sock=$dir/docker.sock
dockerd --iptables=false --ip-masq=false --bridge=none --storage-driver=vfs --data-root "$dir/data" \
  --exec-root "$dir/exec" -H "unix://$sock" --pidfile "$dir/docker.pid" --config-file "$dir/daemon.json" \
  > "$dir/dockerd.log" 2>&1 &
DOCKERD_PID=$!
export DOCKER_CONFIG=$dir/client
docker_() { docker -H "unix://$sock" "$@"; }
rk_wait_until 30 eval 'docker_ version >/dev/null 2>&1' || fail "dockerd did not start: $(tail -5 "$dir/dockerd.log")"
docker_ info --format '{{json .RegistryConfig.Mirrors}}' | grep -q "127.0.0.1:$pp" \
  || fail "dockerd did not take the mirror: $(docker_ info --format '{{json .RegistryConfig.Mirrors}}')"

docker_ pull rookery-demo:v1 > "$dir/pull.log" 2>&1 || fail "docker pull: $(tail -5 "$dir/pull.log")"
repo_digest=$(docker_ image inspect rookery-demo:v1 --format '{{index .RepoDigests 0}}')
expect_eq "${repo_digest#*@}" "$MANIFEST_DIGEST" "digest of the pulled image"

for d in "${LAYER_DIGESTS[@]}" "$CONFIG_DIGEST"; do
  grep -q "GET /v2/library/rookery-demo/blobs/$d -> 200" "$RK_TMP/px/proxy.log" || fail "docker did not get $d from the proxy"
  expect_eq "$(registry_blob_gets reg "$d")" 1 "registry GETs of $d"
done
expect_eq "$(metric "http://127.0.0.1:$pp" rookery_proxy_blob_fetches_total)" 3 "blobs the proxy fetched"
pass "docker pull rookery-demo:v1 went through the proxy (every blob served by it, fetched once)"

# rookery doctor agrees: the daemon.json this dockerd runs with sends pulls to the proxy.
"$ROOKERY_BUILD/cli/rookery" doctor docker --proxy "http://127.0.0.1:$pp" --docker-config "$dir/daemon.json" \
  > "$dir/doctor.txt" 2>&1 || fail "rookery doctor docker: $(cat "$dir/doctor.txt")"
grep -q "^ok    docker daemon.json: registry-mirrors starts with http://127.0.0.1:$pp\$" "$dir/doctor.txt" \
  || fail "doctor's docker line: $(cat "$dir/doctor.txt")"
pass "rookery doctor finds the running dockerd's daemon.json pointing at the proxy"
