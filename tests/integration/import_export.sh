#!/usr/bin/env bash
# `rookery import` and `rookery export` against a real registry, seeder and proxy. Tarballs made
# by skopeo (docker-archive, oci-archive, and one gzip-compressed) are pushed into the registry
# and seeded, then pulled through the proxy (skopeo; podman and containerd unpack the
# uncompressed layers a docker-archive brings); a tarball with one flipped byte in a layer is
# refused naming the layer, and neither the registry nor the seeder gets anything; a registry
# with htpasswd takes pushes with --creds only; exports are accepted by skopeo inspect and
# podman load.
source "$(dirname "$0")/lib.sh"
ROOKERY=$ROOKERY_BUILD/cli/rookery

rp=$(free_port); sp=$(free_port); pp=$(free_port)
registry=127.0.0.1:$rp
start_registry reg "$rp"  # no notifications: only the import makes the seeder seed
start_seeder seed "$sp" "$rp"
start_swarm_proxy px "$pp" "$rp" "$sp"
make_image "$RK_TMP/img" v1 3 $((512 * 1024))
skopeo copy -q "oci:$RK_TMP/img:v1" "docker-archive:$RK_TMP/docker.tar:demo/app:v1"
skopeo copy -q "oci:$RK_TMP/img:v1" "oci-archive:$RK_TMP/oci.tar:v1"
gzip -c "$RK_TMP/oci.tar" > "$RK_TMP/oci.tar.gz"
# A docker-archive holds the layers uncompressed: they are the config's diff_ids.
docker_digests=$( (jq -r '.rootfs.diff_ids[]' "$RK_TMP/img/blobs/sha256/${CONFIG_DIGEST#sha256:}"; echo "$CONFIG_DIGEST") | sort)

import_() {
  "$ROOKERY" import "$@" --registry "http://$registry" --seeder "http://127.0.0.1:$sp" \
    --operator-token-file "$RK_TMP/operator-token" --timeout 60
}
# flip_byte TAR MEMBER: changes one byte in the middle of MEMBER's data, in place.
flip_byte() {
  rk_flip_byte "$1" "$(python3 - "$1" "$2" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    m = t.getmember(sys.argv[2])
    print(m.offset_data + m.size // 2)
PY
)"
}
catalog() { curl -s "http://$registry/v2/_catalog" | jq -c '.repositories'; }
seeded_digests() { operator_curl "http://127.0.0.1:$sp/v1/status" | jq -r '.seeding[].digest' | sort; }

# ---- corrupted tarballs: refused before anything is pushed or seeded ------------------------
bad_layer=$(jq -r '.rootfs.diff_ids[1]' "$RK_TMP/img/blobs/sha256/${CONFIG_DIGEST#sha256:}")
cp "$RK_TMP/docker.tar" "$RK_TMP/bad-docker.tar"
flip_byte "$RK_TMP/bad-docker.tar" "${bad_layer#sha256:}.tar"
cp "$RK_TMP/oci.tar" "$RK_TMP/bad-oci.tar"
flip_byte "$RK_TMP/bad-oci.tar" "blobs/sha256/${LAYER_DIGESTS[2]#sha256:}"
for bad in bad-docker bad-oci; do
  rc=0
  import_ "$RK_TMP/$bad.tar" --image demo/bad:v1 > "$RK_TMP/$bad.out" 2> "$RK_TMP/$bad.err" || rc=$?
  expect_eq "$rc" 1 "exit status of importing $bad.tar"
done
grep -q "layer $bad_layer .*is corrupted" "$RK_TMP/bad-docker.err" || fail "no clear refusal: $(cat "$RK_TMP/bad-docker.err")"
grep -q "blob ${LAYER_DIGESTS[2]} is corrupted" "$RK_TMP/bad-oci.err" || fail "no clear refusal: $(cat "$RK_TMP/bad-oci.err")"
grep -q "nothing was pushed" "$RK_TMP/bad-oci.err" || fail "the refusal does not say nothing was pushed"
# A good tarball beside a bad one: the bad one stops both.
rc=0
import_ "$RK_TMP/oci.tar" "$RK_TMP/bad-docker.tar" --image demo/bad:v1 > /dev/null 2>&1 || rc=$?
expect_eq "$rc" 1 "exit status of importing a good and a bad tarball"
grep -q "/blobs/uploads/" "$RK_TMP/reg/registry.log" && fail "the registry got an upload"
expect_eq "$(catalog)" "[]" "repositories in the registry"
expect_eq "$(seeded_count "$sp")" 0 "blobs seeded"
pass "corrupted tarballs refused, naming the blob: $(cat "$RK_TMP/bad-docker.err")"

# ---- import: pushed, seeded, pullable through the proxy --------------------------------------
import_ "$RK_TMP/docker.tar" > "$RK_TMP/import-docker.out" || fail "import of docker.tar failed"
grep -q "every one seeding" "$RK_TMP/import-docker.out" || fail "not seeded: $(cat "$RK_TMP/import-docker.out")"
expect_eq "$(seeded_digests)" "$docker_digests" "blobs the seeder seeds after the docker-archive import"
skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$pp/demo/app:v1" "dir:$RK_TMP/pulled-docker"
expect_eq "$(digests_in_dir "$RK_TMP/pulled-docker")" "$docker_digests" "blobs pulled through the proxy"
pass "docker-archive imported under its own name (demo/app:v1), seeded, pulled through the proxy"

import_ "$RK_TMP/oci.tar.gz" --image demo/oci > "$RK_TMP/import-oci.out" || fail "import of oci.tar.gz failed"
expect_eq "$(skopeo inspect --tls-verify=false "docker://$registry/demo/oci:v1" | jq -r .Digest)" "$MANIFEST_DIGEST" "digest of the imported OCI image"
expect_eq "$(seeded_digests)" "$( (echo "$docker_digests"; image_digests) | sort -u)" "blobs the seeder seeds after both imports"
skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$pp/demo/oci:v1" "dir:$RK_TMP/pulled-oci"
expect_eq "$(digests_in_dir "$RK_TMP/pulled-oci")" "$(image_digests)" "blobs pulled through the proxy"
pass "gzip-compressed oci-archive imported byte for byte (tag v1 from the tarball), seeded, pulled through the proxy"

# Importing again pushes no blob (the registry has them) and still succeeds.
uploads=$(grep -c "POST /v2/[^ ]*/blobs/uploads/" "$RK_TMP/reg/registry.log")
import_ "$RK_TMP/docker.tar" > /dev/null || fail "second import failed"
expect_eq "$(grep -c "POST /v2/[^ ]*/blobs/uploads/" "$RK_TMP/reg/registry.log")" "$uploads" "uploads started by a repeated import"
pass "a repeated import uploads nothing"

podman_mirror "$registry" "$pp"
podman_ pull -q "$registry/demo/app:v1" > "$RK_TMP/podman-pull.log" 2>&1 || fail "podman pull: $(tail -5 "$RK_TMP/podman-pull.log")"
start_containerd ctd
ctr --address "$CTR_ADDRESS" images pull --plain-http "127.0.0.1:$pp/demo/app:v1" > "$RK_TMP/ctr.log" 2>&1 \
  || fail "ctr pull: $(tail -5 "$RK_TMP/ctr.log")"
grep -q "unpacking linux/amd64" "$RK_TMP/ctr.log" || fail "containerd did not unpack: $(tail -5 "$RK_TMP/ctr.log")"
pass "podman and containerd pulled and unpacked the docker-archive import's uncompressed layers through the proxy"

# ---- export: skopeo and podman accept the tarballs --------------------------------------------
"$ROOKERY" export demo/oci:v1 "$RK_TMP/out-docker.tar" --proxy "http://127.0.0.1:$pp" > /dev/null || fail "export (docker) failed"
"$ROOKERY" export demo/oci:v1 "$RK_TMP/out-oci.tar.gz" --registry "http://$registry" --format oci > /dev/null || fail "export (oci) failed"
expect_eq "$(skopeo inspect "docker-archive:$RK_TMP/out-docker.tar" | jq -r '.Layers[]' | sort)" \
  "$(jq -r '.rootfs.diff_ids[]' "$RK_TMP/img/blobs/sha256/${CONFIG_DIGEST#sha256:}" | sort)" "layers skopeo sees in the docker-archive"
expect_eq "$(skopeo inspect "oci-archive:$RK_TMP/out-oci.tar.gz" | jq -r .Digest)" "$MANIFEST_DIGEST" "digest skopeo sees in the OCI archive"
podman_ load -q -i "$RK_TMP/out-docker.tar" > "$RK_TMP/load1.log" 2>&1 || fail "podman load (docker): $(cat "$RK_TMP/load1.log")"
podman_ load -q -i "$RK_TMP/out-oci.tar.gz" > "$RK_TMP/load2.log" 2>&1 || fail "podman load (oci): $(cat "$RK_TMP/load2.log")"
expect_eq "$(podman_ image inspect demo/oci:v1 --format '{{.Id}}')" "${CONFIG_DIGEST#sha256:}" "image podman loaded"
pass "exports accepted by skopeo inspect and podman load"

# An export that fails leaves no file behind.
rc=0
"$ROOKERY" export demo/none:v1 "$RK_TMP/none.tar" --registry "http://$registry" 2> "$RK_TMP/none.err" || rc=$?
expect_eq "$rc" 1 "exit status of exporting a missing image"
[ ! -e "$RK_TMP/none.tar" ] && [ ! -e "$RK_TMP/none.tar.part" ] || fail "a failed export left a file"
grep -q "MANIFEST_UNKNOWN" "$RK_TMP/none.err" || fail "unclear failure: $(cat "$RK_TMP/none.err")"
pass "a failed export leaves nothing and says why ($(cat "$RK_TMP/none.err"))"

# A registry that wants credentials: without --creds its 401 is reported, with them both
# commands work.
ap=$(free_port)
htpasswd -Bbn alice s3cret > "$RK_TMP/htpasswd"
start_registry authreg "$ap" "$RK_TMP/htpasswd"
rc=0
"$ROOKERY" import "$RK_TMP/oci.tar" --image demo/auth --registry "http://127.0.0.1:$ap" > /dev/null 2> "$RK_TMP/noauth.err" || rc=$?
expect_eq "$rc" 1 "exit status of an import without credentials"
grep -q "401 UNAUTHORIZED" "$RK_TMP/noauth.err" || fail "unclear failure: $(cat "$RK_TMP/noauth.err")"
"$ROOKERY" import "$RK_TMP/oci.tar" --image demo/auth --registry "http://127.0.0.1:$ap" --creds alice:s3cret > /dev/null \
  || fail "import with credentials failed"
"$ROOKERY" export demo/auth:v1 "$RK_TMP/auth.tar" --registry "http://127.0.0.1:$ap" --creds alice:s3cret --format oci > /dev/null \
  || fail "export with credentials failed"
expect_eq "$(skopeo inspect "oci-archive:$RK_TMP/auth.tar" | jq -r .Digest)" "$MANIFEST_DIGEST" "digest of the round trip"
pass "a registry with htpasswd: refused without --creds ($(cat "$RK_TMP/noauth.err")), import and export with them"
