#!/usr/bin/env bash
# containerd (ctr) pulls through rookery-proxy configured as a hosts.toml mirror (the example in
# examples/containerd): containerd sends ?ns=<registry>, the proxy picks that upstream from its
# allow-list and echoes it.
source "$(dirname "$0")/lib.sh"

rp=$(free_port); pp=$(free_port)
registry=127.0.0.1:$rp
start_registry reg "$rp"
start_proxy px "$pp" --upstream "$registry=http://$registry" --log-level debug
make_image "$RK_TMP/img" v1 2 200000
push_image "$RK_TMP/img" v1 "$registry/demo/app:v1"

# The example every registry falls under (certs.d/_default), with the proxy's port.
mkdir -p "$RK_TMP/certs.d/_default"
sed "s/127.0.0.1:5050/127.0.0.1:$pp/" "$RK_EXAMPLES/containerd/certs.d/_default/hosts.toml" \
  > "$RK_TMP/certs.d/_default/hosts.toml"
start_containerd ctrd
ctr --address "$CTR_ADDRESS" images pull --hosts-dir "$RK_TMP/certs.d" --snapshotter native \
  "$registry/demo/app:v1" > "$RK_TMP/ctr.log" 2>&1 || fail "ctr pull: $(tail -5 "$RK_TMP/ctr.log")"

content=$(ctr --address "$CTR_ADDRESS" content ls -q | sort)
for d in "${LAYER_DIGESTS[@]}" "$CONFIG_DIGEST" "$MANIFEST_DIGEST"; do
  grep -qx "$d" <<<"$content" || fail "containerd lacks $d"
done
pass "containerd pulled every blob"

# Every blob came through the proxy (the registry saw only the proxy's requests for them).
served=$(metric "http://127.0.0.1:$pp" rookery_proxy_blob_fetches_total)
expect_eq "$served" 3 "blobs the proxy fetched for containerd"
ns=$(curl -s -D - -o /dev/null "http://127.0.0.1:$pp/v2/demo/app/manifests/v1?ns=$registry" | tr -d '\r' | grep -i '^oci-namespace:')
expect_eq "$ns" "OCI-Namespace: $registry" "namespace echo"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$pp/v2/demo/app/manifests/v1?ns=docker.io")
expect_eq "$code" 404 "a namespace outside the allow-list"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$pp/v2/demo/app/manifests/v1")
expect_eq "$code" 404 "no ns and no default upstream"
pass "containerd's ns picks the upstream; unknown namespaces are refused"

# The image unpacked with the native snapshotter, so its layers were whole tarballs.
ctr --address "$CTR_ADDRESS" images check 2>/dev/null | grep -q "complete" || fail "image not complete"
pass "image complete in containerd"
