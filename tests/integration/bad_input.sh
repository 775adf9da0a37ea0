#!/usr/bin/env bash
# Malformed names, digests, references, Range headers, methods and requests get the right OCI
# error, never touch the disk or upstream, and the proxy keeps serving.
source "$(dirname "$0")/lib.sh"

rp=$(free_port); pp=$(free_port)
start_registry reg "$rp"
start_proxy px "$pp" --upstream "http://127.0.0.1:$rp"
make_image "$RK_TMP/img" v1 1 50000
push_image "$RK_TMP/img" v1 "127.0.0.1:$rp/demo/app:v1"
p=http://127.0.0.1:$pp
layer=${LAYER_DIGESTS[0]}
hex64=$(printf 'a%.0s' {1..64})

expect_eq "$(oci_code "$p/v2/Demo/App/manifests/v1")" "400 NAME_INVALID" "upper-case name"
expect_eq "$(oci_code "$p/v2/demo//app/manifests/v1")" "400 NAME_INVALID" "empty path component"
expect_eq "$(oci_code "$p/v2/demo/../../etc/blobs/$layer")" "400 NAME_INVALID" "dot-dot in the name"
expect_eq "$(oci_code "$p/v2/$(printf 'a%.0s' {1..256})/manifests/v1")" "400 NAME_INVALID" "name over 255 characters"
expect_eq "$(oci_code "$p/v2/demo/app/blobs/sha256:../../../../etc/passwd")" "400 DIGEST_INVALID" "traversal in a digest"
expect_eq "$(oci_code "$p/v2/demo/app/blobs/sha256:${hex64^^}")" "400 DIGEST_INVALID" "upper-case digest"
expect_eq "$(oci_code "$p/v2/demo/app/blobs/md5:d41d8cd98f00b204e9800998ecf8427e")" "400 DIGEST_INVALID" "md5 digest"
expect_eq "$(oci_code "$p/v2/demo/app/blobs/latest")" "400 DIGEST_INVALID" "a tag where a digest belongs"
expect_eq "$(oci_code "$p/v2/demo/app/manifests/.INVALID_MANIFEST_NAME")" "404 MANIFEST_UNKNOWN" "the conformance suite's invalid reference"
expect_eq "$(oci_code "$p/v2/demo/app/manifests/-bad")" "404 MANIFEST_UNKNOWN" "tag starting with a dash"
expect_eq "$(oci_code "$p/v2/demo/app/manifests/$(printf 't%.0s' {1..129})")" "404 MANIFEST_UNKNOWN" "tag over 128 characters"
expect_eq "$(oci_code "$p/v2/demo/app/manifests/sha256:$hex64")" "404 MANIFEST_UNKNOWN" "unknown manifest digest"
expect_eq "$(oci_code "$p/v2/demo/app/blobs/sha256:$hex64")" "404 BLOB_UNKNOWN" "unknown blob"
pass "names, digests and references"

expect_eq "$(oci_code "$p/v2/demo/app/blobs/uploads/" -X POST)" "405 UNSUPPORTED" "upload"
expect_eq "$(oci_code "$p/v2/demo/app/manifests/v1" -X PUT -d '{}')" "405 UNSUPPORTED" "manifest push"
expect_eq "$(oci_code "$p/v2/demo/app/manifests/v1" -X DELETE)" "405 UNSUPPORTED" "delete"
expect_eq "$(oci_code "$p/nothing-here")" "404 NOT_FOUND" "unknown endpoint"
pass "methods and endpoints"

curl -sf -o /dev/null "$p/v2/demo/app/blobs/$layer" || fail "could not cache the layer"
for range in "bytes=abc" "bytes=9-2" "bytes=99999999-" "items=0-1" "bytes=-0"; do
  expect_eq "$(oci_code "$p/v2/demo/app/blobs/$layer" -H "Range: $range")" "416 UNSUPPORTED" "Range: $range"
done
pass "unsatisfiable ranges"

# Oversized request header: refused, connection closed.
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$p/v2/")
expect_eq "$code" 400 "a 20 KB header"
# Garbage instead of HTTP.
reply=$(exec 3<>"/dev/tcp/127.0.0.1/$pp"; printf 'HELLO THERE\r\n\r\n' >&3; timeout 5 head -c 12 <&3)
expect_eq "$reply" "HTTP/1.1 400" "garbage request line"
# A client that connects and sends nothing does not block others.
exec 4<>"/dev/tcp/127.0.0.1/$pp"
curl -sf -m 5 -o /dev/null "$p/v2/demo/app/manifests/v1" || fail "proxy stuck behind an idle connection"
exec 4>&-
pass "malformed and oversized requests"

skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$pp/demo/app:v1" "dir:$RK_TMP/after" \
  || fail "proxy does not serve pulls after bad input"
pass "still serving pulls after all of it"
