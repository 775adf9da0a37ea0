#!/usr/bin/env bash
# `rookery setup containerd|podman` writes configuration that the real runtimes follow: a private
# containerd pulls through the proxy with the hosts.toml files it wrote (a named registry, and
# another one through the _default catch-all), podman with the registries.conf it wrote. Each
# pull is counted by the proxy. A second run changes nothing; a changed file is backed up.
source "$(dirname "$0")/lib.sh"
ROOKERY=$ROOKERY_BUILD/cli/rookery

rp=$(free_port); rp2=$(free_port); pp=$(free_port)
reg=127.0.0.1:$rp; reg2=127.0.0.1:$rp2
start_registry reg "$rp"
start_registry reg2 "$rp2"
start_proxy px "$pp" --upstream "http://$reg" --upstream "$reg=http://$reg" --upstream "$reg2=http://$reg2"
make_image "$RK_TMP/img" v1 2 200000
push_image "$RK_TMP/img" v1 "$reg/demo/app:v1"
make_image "$RK_TMP/img2" v1 2 200000
push_image "$RK_TMP/img2" v1 "$reg2/demo/other:v1"

fetched() { metric "http://127.0.0.1:$pp" rookery_proxy_blob_fetches_total; }

# containerd: the named registry, then the second one through _default.
"$ROOKERY" setup containerd --proxy "http://127.0.0.1:$pp" --registry "$reg=http://$reg" \
  --path "$RK_TMP/certs.d" > "$RK_TMP/setup1.txt" || fail "setup containerd failed"
[ -f "$RK_TMP/certs.d/_default/hosts.toml" ] || fail "no _default/hosts.toml"
start_containerd ctrd
ctr --address "$CTR_ADDRESS" images pull --hosts-dir "$RK_TMP/certs.d" --snapshotter native \
  "$reg/demo/app:v1" > "$RK_TMP/ctr.log" 2>&1 || fail "ctr pull: $(tail -5 "$RK_TMP/ctr.log")"
expect_eq "$(fetched)" 3 "blobs the proxy fetched for containerd (named registry)"
ctr --address "$CTR_ADDRESS" images pull --plain-http --hosts-dir "$RK_TMP/certs.d" --snapshotter native \
  "$reg2/demo/other:v1" > "$RK_TMP/ctr2.log" 2>&1 || fail "ctr pull via _default: $(tail -5 "$RK_TMP/ctr2.log")"
expect_eq "$(fetched)" 6 "blobs the proxy fetched for containerd (both registries)"
pass "containerd pulled through the proxy with the hosts.toml files rookery setup wrote (named and _default)"

# Run again: nothing changes, no backup. Then a hand-edited file is backed up before it changes.
"$ROOKERY" setup containerd --proxy "http://127.0.0.1:$pp" --registry "$reg=http://$reg" \
  --path "$RK_TMP/certs.d" > "$RK_TMP/setup2.txt"
expect_eq "$(grep -c unchanged "$RK_TMP/setup2.txt")" 2 "files unchanged on the second run"
echo "# edited by hand" >> "$RK_TMP/certs.d/_default/hosts.toml"
cp "$RK_TMP/certs.d/_default/hosts.toml" "$RK_TMP/edited"
"$ROOKERY" setup containerd --proxy "http://127.0.0.1:$pp" --path "$RK_TMP/certs.d" > /dev/null
cmp -s "$RK_TMP/edited" "$RK_TMP/certs.d/_default/hosts.toml.rookery-backup" || fail "the edited file was not backed up"
pass "a second run changes nothing; an edited file is backed up before it is replaced"

# podman: the registries.conf drop-in it writes, as podman's only registries.conf.
"$ROOKERY" setup podman --proxy "http://127.0.0.1:$pp" --registry "$reg=http://$reg" \
  --path "$RK_TMP/registries.conf" > /dev/null || fail "setup podman failed"
before=$(metric "http://127.0.0.1:$pp" rookery_proxy_requests_total)
CONTAINERS_REGISTRIES_CONF=$RK_TMP/registries.conf podman --root "$RK_TMP/podman/root" \
  --runroot "$RK_TMP/podman/run" --storage-driver vfs --events-backend file --cgroup-manager cgroupfs \
  pull -q "$reg/demo/app:v1" > "$RK_TMP/podman.log" 2>&1 || fail "podman pull: $(tail -5 "$RK_TMP/podman.log")"
after=$(metric "http://127.0.0.1:$pp" rookery_proxy_requests_total)
[ "$after" -gt $((before + 2)) ] || fail "podman did not pull through the proxy ($before → $after requests)"
pass "podman pulled through the proxy with the registries.conf rookery setup wrote"
