#!/usr/bin/env bash
# The container image (Containerfile, scripts/image) builds here with podman from the project's
# own binaries, FROM scratch: the three binaries answer --help inside it, every command line of
# examples/ is accepted by the image's own binaries at the paths the examples name, and
# rookery-proxy run from the image on the host network serves an image pulled through it.
source "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
tag=localhost/rookery:it-$$
podman_global=(--root "$RK_TMP/podman/root" --runroot "$RK_TMP/podman/run" --storage-driver vfs
  --events-backend file --cgroup-manager cgroupfs)
# podman's default limits for root are above this machine's hard limits, which runc may not
# raise here: run with limits at or below them.
run=(podman "${podman_global[@]}" run --rm --ulimit "nofile=$(ulimit -Sn):$(ulimit -Hn)"
  --ulimit nproc=4096:4096)
container=rookery-it-$$

stop_container() { podman "${podman_global[@]}" rm -f -t 2 "$container" >/dev/null 2>&1 || true; }
trap 'stop_container; rk_cleanup' EXIT

"$repo/scripts/image" build "$ROOKERY_BUILD" "$tag" "${podman_global[@]}" > "$RK_TMP/build.log" 2>&1 \
  || fail "image build: $(tail -5 "$RK_TMP/build.log")"
size=$(podman "${podman_global[@]}" image inspect "$tag" --format '{{.Size}}')
pass "image built FROM scratch ($((size / 1024 / 1024)) MiB)"

for binary in rookery-proxy:--upstream rookery-seeder:--registry rookery:prewarm; do
  "${run[@]}" --network none "$tag" "${binary%%:*}" --help > "$RK_TMP/help.txt" 2>&1 \
    || fail "${binary%%:*} --help in the image: $(head -5 "$RK_TMP/help.txt")"
  grep -q -- "${binary#*:}" "$RK_TMP/help.txt" || fail "${binary%%:*} --help: $(head -5 "$RK_TMP/help.txt")"
done
pass "rookery-proxy, rookery-seeder and rookery --help run inside the image"

python3 "$(dirname "$0")/example_flags.py" --in-image "${run[*]} --network none $tag" \
  "$ROOKERY_BUILD" "$repo/examples" > "$RK_TMP/checked.txt" || fail "$(cat "$RK_TMP/checked.txt")"
pass "the image's binaries accept the examples' command lines ($(tail -1 "$RK_TMP/checked.txt"))"

# The proxy from the image, on the host network, in front of a registry on loopback.
rp=$(free_port); pp=$(free_port)
start_registry reg "$rp"
make_image "$RK_TMP/img" v1 2 200000
push_image "$RK_TMP/img" v1 "127.0.0.1:$rp/demo/app:v1"
"${run[@]}" -d --name "$container" --network host "$tag" rookery-proxy --listen "127.0.0.1:$pp" \
  --upstream "http://127.0.0.1:$rp" --store /tmp/store > /dev/null || fail "the proxy container did not start"
rk_wait_until 20 rk_http_up "http://127.0.0.1:$pp/healthz" \
  || fail "the proxy in the image does not answer: $(podman "${podman_global[@]}" logs "$container" 2>&1 | tail -5)"
skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$pp/demo/app:v1" "dir:$RK_TMP/pulled" \
  || fail "pull through the proxy in the image failed"
expect_eq "$(digests_in_dir "$RK_TMP/pulled")" "$(image_digests)" "blobs pulled through the image's proxy"
expect_eq "$(metric "http://127.0.0.1:$pp" rookery_proxy_blob_fetches_total)" 3 "blobs the image's proxy fetched"
pass "rookery-proxy from the image served a pull"
