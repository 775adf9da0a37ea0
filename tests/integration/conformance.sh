#!/usr/bin/env bash
# The error paths of the proxy's pull API against the OCI distribution spec (v1.1: endpoints,
# error codes) and the conformance suite's expectations: one assertion per path, against a
# real docker-registry behind the proxy (a fake upstream only for the 403 and 429 that Debian's
# registry never sends). Relayed answers are compared with what the registry itself says.
source "$(dirname "$0")/lib.sh"

rp=$(free_port); pp=$(free_port); dp=$(free_port); tp=$(free_port); ap=$(free_port); aup=$(free_port); fpp=$(free_port)
start_registry reg "$rp"
start_proxy px "$pp" --upstream "http://127.0.0.1:$rp" --no-prefetch
make_image "$RK_TMP/img" v1 1 50000
push_image "$RK_TMP/img" v1 "127.0.0.1:$rp/demo/app:v1"
p=http://127.0.0.1:$pp
r=http://127.0.0.1:$rp
layer=${LAYER_DIGESTS[0]}
size=$(stat -c %s "$RK_TMP/img/blobs/sha256/${layer#sha256:}")
hex64=$(printf 'a%.0s' {1..64})
hex128=$(printf 'b%.0s' {1..128})

# status_of URL [CURL ARGS]: the status alone.
status_of() {
  local url=$1
  shift
  curl -s -o /dev/null -w '%{http_code}' --path-as-is "$@" "$url"
}
# header_of URL NAME [CURL ARGS]: one response header's value (HEAD unless ARGS say otherwise).
header_of() {
  local url=$1 name=$2
  shift 2
  curl -s -D - -o /dev/null "$@" "$url" | tr -d '\r' | awk -v n="${name,,}" -F': ' 'tolower($1)==n {print $2}'
}
# head_body_bytes PATH: bytes that follow the header of a raw HEAD answer (must be 0).
head_body_bytes() {
  python3 - "$pp" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(("HEAD %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % sys.argv[2]).encode())
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(len(data.split(b"\r\n\r\n", 1)[1]) if b"\r\n\r\n" in data else -1)
PY
}

# --- the base endpoint
expect_eq "$(status_of "$p/v2/")" 200 "GET /v2/"
expect_eq "$(header_of "$p/v2/" Docker-Distribution-API-Version -I)" "registry/2.0" "API version header"
expect_eq "$(status_of "$p/v2")" 200 "GET /v2 without the trailing slash"
pass "base endpoint"

# --- names
expect_eq "$(oci_code "$p/v2/Demo/app/manifests/v1")" "400 NAME_INVALID" "upper-case repository name"
expect_eq "$(oci_code "$p/v2/demo/app_/blobs/$layer")" "400 NAME_INVALID" "name ending in a separator"
expect_eq "$(oci_code "$p/v2/nope/app/manifests/v1")" "$(oci_code "$r/v2/nope/app/manifests/v1")" \
  "manifest of a repository upstream does not know (relayed)"
expect_eq "$(oci_code "$p/v2/nope/app/blobs/$layer")" "$(oci_code "$r/v2/nope/app/blobs/$layer")" \
  "blob of a repository upstream does not know (relayed)"
expect_eq "$(oci_code "$p/v2/demo/app/manifests/v1?ns=elsewhere.example")" "404 NAME_UNKNOWN" "namespace outside the allow-list"
pass "names"

# --- manifest references
expect_eq "$(oci_code "$p/v2/demo/app/manifests/.INVALID_MANIFEST_NAME")" "404 MANIFEST_UNKNOWN" "invalid reference (conformance suite)"
expect_eq "$(status_of "$p/v2/demo/app/manifests/.INVALID_MANIFEST_NAME" -I)" 404 "HEAD of an invalid reference"
expect_eq "$(oci_code "$p/v2/demo/app/manifests/sha256:xyz")" "404 MANIFEST_UNKNOWN" "malformed digest as a reference"
expect_eq "$(oci_code "$p/v2/demo/app/manifests/md5:d41d8cd98f00b204e9800998ecf8427e")" "404 MANIFEST_UNKNOWN" "unknown algorithm as a reference"
expect_eq "$(oci_code "$p/v2/demo/app/manifests/no-such-tag")" "404 MANIFEST_UNKNOWN" "unknown tag"
expect_eq "$(oci_code "$p/v2/demo/app/manifests/sha256:$hex64")" "404 MANIFEST_UNKNOWN" "unknown sha256 manifest"
expect_eq "$(oci_code "$p/v2/demo/app/manifests/sha512:$hex128")" "404 MANIFEST_UNKNOWN" "unknown sha512 manifest"
pass "manifest references"

# --- blob digests
expect_eq "$(oci_code "$p/v2/demo/app/blobs/sha256:$hex64")" "404 BLOB_UNKNOWN" "unknown sha256 blob"
expect_eq "$(oci_code "$p/v2/demo/app/blobs/sha512:$hex128")" "404 BLOB_UNKNOWN" "unknown sha512 blob (the algorithm is accepted)"
expect_eq "$(oci_code "$p/v2/demo/app/blobs/sha512:$hex64")" "400 DIGEST_INVALID" "sha512 digest of the wrong length"
expect_eq "$(oci_code "$p/v2/demo/app/blobs/md5:d41d8cd98f00b204e9800998ecf8427e")" "400 DIGEST_INVALID" "unknown algorithm"
expect_eq "$(oci_code "$p/v2/demo/app/blobs/sha256:${hex64^^}")" "400 DIGEST_INVALID" "upper-case hex"
expect_eq "$(oci_code "$p/v2/demo/app/blobs/v1")" "400 DIGEST_INVALID" "a tag where a digest belongs"
expect_eq "$(status_of "$p/v2/demo/app/blobs/sha256:$hex64" -I)" 404 "HEAD of an unknown blob"
pass "blob digests"

# --- HEAD has the headers of GET and no body, success or error
m_len=$(curl -s "$p/v2/demo/app/manifests/v1" -H 'Accept: application/vnd.oci.image.manifest.v1+json' | wc -c)
expect_eq "$(header_of "$p/v2/demo/app/manifests/v1" Content-Length -I -H 'Accept: application/vnd.oci.image.manifest.v1+json')" "$m_len" "HEAD manifest Content-Length"
expect_eq "$(header_of "$p/v2/demo/app/manifests/v1" Docker-Content-Digest -I)" "$MANIFEST_DIGEST" "HEAD manifest digest"
expect_eq "$(header_of "$p/v2/demo/app/blobs/$layer" Content-Length -I)" "$size" "HEAD blob Content-Length (uncached)"
for path in "/v2/demo/app/manifests/v1" "/v2/demo/app/blobs/$layer" "/v2/demo/app/blobs/sha256:$hex64" \
  "/v2/demo/app/manifests/.INVALID_MANIFEST_NAME" "/v2/Demo/app/manifests/v1" "/v2/demo/app/blobs/md5:00"; do
  expect_eq "$(head_body_bytes "$path")" 0 "body bytes after a HEAD of $path"
done
pass "HEAD"

# --- methods and endpoints a pull-through mirror does not offer
for args in "-X POST $p/v2/demo/app/blobs/uploads/" "-X PUT -d {} $p/v2/demo/app/manifests/v1" \
  "-X DELETE $p/v2/demo/app/manifests/v1" "-X DELETE $p/v2/demo/app/blobs/$layer" "-X PATCH $p/v2/demo/app/blobs/uploads/x"; do
  # shellcheck disable=SC2086
  expect_eq "$(oci_code "${args##* }" ${args% *})" "405 UNSUPPORTED" "$args"
done
expect_eq "$(header_of "$p/v2/demo/app/manifests/v1" Allow -X DELETE)" "GET, HEAD" "Allow of a 405"
expect_eq "$(oci_code "$p/v2/demo/app/tags/list")" "404 UNSUPPORTED" "tag list"
expect_eq "$(oci_code "$p/v2/_catalog")" "404 UNSUPPORTED" "catalog"
expect_eq "$(oci_code "$p/v2/demo/app/referrers/$MANIFEST_DIGEST")" "404 UNSUPPORTED" "referrers (404: clients fall back)"
expect_eq "$(header_of "$p/v2/_catalog" Content-Type)" "application/json" "error bodies are JSON"
pass "methods and endpoints"

# --- Range (RFC 9110): served from the cache and while fetching
curl -sf -o /dev/null "$p/v2/demo/app/blobs/$layer" || fail "could not cache the layer"
expect_eq "$(status_of "$p/v2/demo/app/blobs/$layer" -H 'Range: bytes=0-9')" 206 "Range bytes=0-9"
expect_eq "$(header_of "$p/v2/demo/app/blobs/$layer" Content-Range -H 'Range: bytes=10-')" "bytes 10-$((size - 1))/$size" "Range bytes=10-"
expect_eq "$(header_of "$p/v2/demo/app/blobs/$layer" Content-Range -H 'Range: bytes=-5')" "bytes $((size - 5))-$((size - 1))/$size" "suffix Range"
expect_eq "$(header_of "$p/v2/demo/app/blobs/$layer" Content-Range -H "Range: bytes=0-$((size * 2))")" "bytes 0-$((size - 1))/$size" "end past the size is clamped"
expect_eq "$(oci_code "$p/v2/demo/app/blobs/$layer" -H "Range: bytes=$size-")" "416 UNSUPPORTED" "start at the size"
expect_eq "$(header_of "$p/v2/demo/app/blobs/$layer" Content-Range -H 'Range: bytes=9-2')" "bytes */$size" "Content-Range of a 416"
pass "Range"

# --- the upstream's refusals reach the client with their code and challenge
htpasswd -Bbn alice secret > "$RK_TMP/htpasswd"
start_registry authreg "$aup" "$RK_TMP/htpasswd"
start_proxy apx "$ap" --upstream "http://127.0.0.1:$aup"
expect_eq "$(oci_code "http://127.0.0.1:$ap/v2/demo/app/manifests/v1")" "401 UNAUTHORIZED" "no credentials"
expect_eq "$(header_of "http://127.0.0.1:$ap/v2/" WWW-Authenticate)" "$(header_of "http://127.0.0.1:$aup/v2/" WWW-Authenticate)" "challenge relayed"
expect_eq "$(oci_code "http://127.0.0.1:$ap/v2/demo/app/blobs/$layer" -u alice:wrong)" "401 UNAUTHORIZED" "wrong credentials"
start_fake_upstream deny "$dp" deny
start_fake_upstream throttle "$tp" throttle
start_proxy fpx "$fpp" --upstream "http://127.0.0.1:$dp" --upstream "throttled=http://127.0.0.1:$tp"
fp=http://127.0.0.1:$fpp
expect_eq "$(oci_code "$fp/v2/demo/app/manifests/v1")" "403 DENIED" "upstream denies"
expect_eq "$(oci_code "$fp/v2/demo/app/blobs/$layer")" "403 DENIED" "upstream denies a blob"
expect_eq "$(oci_code "$fp/v2/demo/app/manifests/v1?ns=throttled")" "429 TOOMANYREQUESTS" "upstream throttles"
expect_eq "$(header_of "$fp/v2/demo/app/blobs/$layer?ns=throttled" Retry-After)" 7 "Retry-After relayed"
pass "upstream refusals"
