#!/usr/bin/env bash
# A private repository behind htpasswd: the seeder seeds it with its own credentials, but a
# client without credentials gets 401 from the proxy and its proxy never receives the layer's
# metainfo; a client with credentials pulls it from the swarm.
source "$(dirname "$0")/lib.sh"

htpasswd -Bbn alice s3cret > "$RK_TMP/htpasswd"
rp=$(free_port); sp=$(free_port); pp=$(free_port)
RK_NOTIFY_URL=http://127.0.0.1:$sp/v1/notifications start_registry reg "$rp" "$RK_TMP/htpasswd"
start_seeder seed "$sp" "$rp" --registry-credentials alice:s3cret
make_image "$RK_TMP/img" v1 2 $((2 * 1024 * 1024))
push_image "$RK_TMP/img" v1 "127.0.0.1:$rp/private/app:v1" alice:s3cret
wait_seeded "$sp" 3
start_swarm_proxy px "$pp" "$rp" "$sp"
layer=${LAYER_DIGESTS[0]}

# Straight at the seeder: no credentials, no metainfo.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$sp/v1/blobs/$layer/torrent?repo=private/app")
expect_eq "$code" 401 "seeder metainfo without credentials"
code=$(curl -s -o /dev/null -w '%{http_code}' -u alice:wrong "http://127.0.0.1:$sp/v1/blobs/$layer/torrent?repo=private/app")
expect_eq "$code" 401 "seeder metainfo with a wrong password"

# Through the proxy: 401, and the proxy holds no torrent for the layer.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$pp/v2/private/app/blobs/$layer")
expect_eq "$code" 401 "anonymous blob GET through the swarm proxy"
if skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$pp/private/app:v1" "dir:$RK_TMP/anon" 2>/dev/null; then
  fail "an anonymous client pulled a private image"
fi
expect_eq "$(torrent_count "$pp")" 0 "torrents on the proxy after refused pulls"
expect_eq "$(metric "http://127.0.0.1:$sp" rookery_seeder_torrents_served_total)" 0 "metainfo the seeder handed out"
pass "no credentials: 401, and the proxy never received the metainfo"

skopeo copy -q --src-tls-verify=false --src-creds alice:s3cret "docker://127.0.0.1:$pp/private/app:v1" "dir:$RK_TMP/alice"
expect_eq "$(digests_in_dir "$RK_TMP/alice")" "$(image_digests)" "layers alice pulled"
from_peers=$(metric "http://127.0.0.1:$pp" rookery_proxy_blob_bytes_from_peers_total)
[ "$from_peers" -gt 0 ] || fail "alice's pull did not come from the swarm"
pass "with credentials the layers come from the swarm ($from_peers bytes)"

# Cached now; still refused without credentials.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$pp/v2/private/app/blobs/$layer")
expect_eq "$code" 401 "anonymous GET of the cached private layer"
pass "cached private layer stays private"
