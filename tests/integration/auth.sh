#!/usr/bin/env bash
# Upstream with htpasswd auth: challenges reach the client, credentials pass through, and a
# blob cached for an authorized client is never served to one upstream would refuse.
source "$(dirname "$0")/lib.sh"

htpasswd -Bbn alice s3cret > "$RK_TMP/htpasswd"
rp=$(free_port); pp=$(free_port); pp2=$(free_port)
start_registry reg "$rp" "$RK_TMP/htpasswd"
start_proxy px "$pp" --upstream "http://127.0.0.1:$rp" --access-cache-seconds 60
make_image "$RK_TMP/img" v1 2 100000
push_image "$RK_TMP/img" v1 "127.0.0.1:$rp/private/app:v1" alice:s3cret
proxy=http://127.0.0.1:$pp
layer=${LAYER_DIGESTS[0]}

headers=$(curl -s -D - -o /dev/null "$proxy/v2/private/app/manifests/v1" | tr -d '\r')
grep -q "^HTTP/1.1 401" <<<"$headers" || fail "no 401 without credentials: $headers"
grep -qi '^www-authenticate: Basic realm="rookery-test"' <<<"$headers" || fail "challenge not relayed: $headers"
if skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$pp/private/app:v1" "dir:$RK_TMP/anon" 2>/dev/null; then
  fail "an anonymous client pulled a private image"
fi
pass "no credentials: 401 with the upstream's challenge"

skopeo copy -q --src-tls-verify=false --src-creds alice:s3cret "docker://127.0.0.1:$pp/private/app:v1" "dir:$RK_TMP/alice"
expect_eq "$(digests_in_dir "$RK_TMP/alice")" "$(image_digests)" "layers alice pulled"
pass "correct credentials pull the image"

# The layer is cached now. Others must still be refused.
code=$(curl -s -o /dev/null -w '%{http_code}' "$proxy/v2/private/app/blobs/$layer")
expect_eq "$code" 401 "anonymous GET of a cached private blob"
code=$(curl -s -o /dev/null -w '%{http_code}' -u alice:wrong "$proxy/v2/private/app/blobs/$layer")
expect_eq "$code" 401 "wrong password for a cached private blob"
code=$(curl -s -o /dev/null -w '%{http_code}' -I "$proxy/v2/private/app/blobs/$layer")
expect_eq "$code" 401 "anonymous HEAD of a cached private blob"
code=$(curl -s -o /dev/null -w '%{http_code}' "$proxy/v2/private/app/manifests/$MANIFEST_DIGEST")
expect_eq "$code" 401 "anonymous GET of a cached manifest by digest"
code=$(curl -s -o "$RK_TMP/blob" -w '%{http_code}' -u alice:s3cret "$proxy/v2/private/app/blobs/$layer")
expect_eq "$code" 200 "alice's GET of the cached blob"
expect_eq "$(registry_blob_gets reg "$layer")" 1 "registry blob GETs (alice's second read came from cache)"
pass "a cached private blob is served only to clients upstream allows"

# Proxy-side credentials: the proxy logs in itself, for clients that send none.
start_proxy px2 "$pp2" --upstream "http://127.0.0.1:$rp" --upstream-credentials default=alice:s3cret
skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$pp2/private/app:v1" "dir:$RK_TMP/via-proxy-creds"
expect_eq "$(digests_in_dir "$RK_TMP/via-proxy-creds")" "$(digests_in_dir "$RK_TMP/alice")" "layers via proxy credentials"
pass "proxy-side credentials pull for anonymous clients"
