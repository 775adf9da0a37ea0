#!/usr/bin/env bash
# skopeo pulls a generated image through rookery-proxy from a real docker-registry: the layers
# check out (their fetches start when the manifest is served), a second pull takes nothing from upstream, Range works on cached blobs, and the
# cached image (by digest) still pulls with the registry stopped.
source "$(dirname "$0")/lib.sh"

rp=$(free_port); pp=$(free_port)
start_registry reg "$rp"
start_proxy px "$pp" --upstream "http://127.0.0.1:$rp"
make_image "$RK_TMP/img" v1 3 300000
push_image "$RK_TMP/img" v1 "127.0.0.1:$rp/demo/app:v1"
expected=$(image_digests)

skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$pp/demo/app:v1" "dir:$RK_TMP/pull1"
expect_eq "$(digests_in_dir "$RK_TMP/pull1")" "$expected" "layers of the first pull"
pass "first pull through the proxy has every layer"
# Serving the manifest started the fetches of all its blobs; skopeo's requests joined them.
expect_eq "$(metric "http://127.0.0.1:$pp" rookery_proxy_blob_prefetches_total)" 4 "blob fetches started by the manifest"

skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$pp/demo/app:v1" "dir:$RK_TMP/pull2"
expect_eq "$(digests_in_dir "$RK_TMP/pull2")" "$expected" "layers of the second pull"
for d in "${LAYER_DIGESTS[@]}" "$CONFIG_DIGEST"; do
  expect_eq "$(registry_blob_gets reg "$d")" 1 "registry GETs of $d after two pulls"
done
fetches=$(metric "http://127.0.0.1:$pp" rookery_proxy_blob_fetches_total)
expect_eq "$fetches" 4 "upstream blob fetches after two pulls"
pass "second pull took no blob from upstream"

# Range on a cached blob: 206 with the right bytes, 416 past the end.
layer=${LAYER_DIGESTS[0]}
file=$RK_TMP/img/blobs/sha256/${layer#sha256:}
size=$(stat -c %s "$file")
url="http://127.0.0.1:$pp/v2/demo/app/blobs/$layer"
code=$(curl -s -o "$RK_TMP/part" -w '%{http_code}' -H 'Range: bytes=100-199' "$url")
expect_eq "$code" 206 "status of a range request"
cmp "$RK_TMP/part" <(tail -c +101 "$file" | head -c 100) || fail "range bytes differ"
code=$(curl -s -o "$RK_TMP/part" -w '%{http_code}' -H "Range: bytes=$((size - 10))-" "$url")
expect_eq "$code/$(stat -c %s "$RK_TMP/part")" 206/10 "open-ended range"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Range: bytes=-5' "$url")
expect_eq "$code" 206 "suffix range"
range_header=$(curl -s -D - -o /dev/null -H "Range: bytes=$size-" "$url" | tr -d '\r' | grep -i '^content-range:')
expect_eq "$range_header" "Content-Range: bytes */$size" "416 Content-Range"
pass "Range requests on cached blobs"

# HEAD of a cached blob carries the length and digest, no body.
headers=$(curl -s -I "$url" | tr -d '\r')
grep -qi "^content-length: $size$" <<<"$headers" || fail "HEAD without Content-Length: $headers"
grep -qi "^docker-content-digest: $layer$" <<<"$headers" || fail "HEAD without digest: $headers"

# Upstream gone: the digest-pinned image still pulls from the cache.
stop_pid "$REGISTRY_PID"
skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$pp/demo/app@$MANIFEST_DIGEST" "dir:$RK_TMP/pull3"
expect_eq "$(digests_in_dir "$RK_TMP/pull3")" "$expected" "layers pulled with upstream down"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$pp/v2/demo/app/manifests/v1")
expect_eq "$code" 503 "a tag with upstream down"
pass "cached image pulls by digest with upstream stopped; tags say 503"
