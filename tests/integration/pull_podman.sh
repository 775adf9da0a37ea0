#!/usr/bin/env bash
# podman pulls through rookery-proxy configured as a registries.conf mirror (no ns: the proxy's
# default upstream), into a private vfs store.
source "$(dirname "$0")/lib.sh"

rp=$(free_port); pp=$(free_port)
registry=127.0.0.1:$rp
start_registry reg "$rp"
start_proxy px "$pp" --upstream "http://$registry" --log-level debug
make_image "$RK_TMP/img" v1 2 200000
push_image "$RK_TMP/img" v1 "$registry/demo/app:v1"

podman_mirror "$registry" "$pp"
podman_ pull -q "$registry/demo/app:v1" > "$RK_TMP/podman.log" 2>&1 || fail "podman pull: $(tail -5 "$RK_TMP/podman.log")"
podman_ image inspect "$registry/demo/app:v1" --format '{{.Digest}}' > "$RK_TMP/inspect" || fail "image missing"
expect_eq "$(cat "$RK_TMP/inspect")" "$MANIFEST_DIGEST" "digest of the pulled image"

# Every blob reached podman through the proxy, and the registry sent each once, to the proxy.
for d in "${LAYER_DIGESTS[@]}" "$CONFIG_DIGEST"; do
  grep -q "GET /v2/demo/app/blobs/$d -> 200" "$RK_TMP/px/proxy.log" || fail "podman did not get $d from the proxy"
  expect_eq "$(registry_blob_gets reg "$d")" 1 "registry GETs of $d"
done
pass "podman pulled the image through the proxy"
