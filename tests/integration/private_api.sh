#!/usr/bin/env bash
# Private layers stay private on every HTTP endpoint of the seeder and the proxy: a registry
# behind htpasswd, a seeder with read credentials of its own. Anonymous and wrong-password
# callers get 401 and no byte, digest or info-hash; the authorized client still pulls through
# the swarm. Also: starter/follower fetches, evicted blobs, a second upstream whose credentials
# never reach the seeder, notifications without the secret, and a flood of them.
source "$(dirname "$0")/lib.sh"

htpasswd -Bbn alice s3cret > "$RK_TMP/htpasswd"
htpasswd -Bbn bob b0b > "$RK_TMP/htpasswd2"
rp=$(free_port); rp2=$(free_port); sp=$(free_port); pp=$(free_port); pp2=$(free_port)
RK_NOTIFY_URL=http://127.0.0.1:$sp/v1/notifications start_registry reg "$rp" "$RK_TMP/htpasswd"
start_registry reg2 "$rp2" "$RK_TMP/htpasswd2"
start_seeder seed "$sp" "$rp" --registry-credentials alice:s3cret --log-level debug --image-queue 16
make_image "$RK_TMP/img" v1 3 $((1024 * 1024))
push_image "$RK_TMP/img" v1 "127.0.0.1:$rp/private/app:v1" alice:s3cret
wait_seeded "$sp" 4
layers=("${LAYER_DIGESTS[@]}")
layer=${layers[0]}
seeder=http://127.0.0.1:$sp
info_hash=$(operator_curl "$seeder/v1/status" | jq -r --arg d "$layer" '.seeding[] | select(.digest == $d) | .info_hash')
[ ${#info_hash} = 40 ] || fail "the operator's status names no info-hash for $layer"

# secret_free TEXT WHAT: TEXT names none of the image's digests nor the layer's info-hash.
secret_free() {
  local d
  for d in "${layers[@]}" "$CONFIG_DIGEST" "$MANIFEST_DIGEST"; do
    grep -q "${d#sha256:}" <<<"$1" && fail "$2 reveals $d"
  done
  grep -q "$info_hash" <<<"$1" && fail "$2 reveals the info-hash"
  grep -q "private/app" <<<"$1" && fail "$2 reveals the repository name"
  return 0
}

# --- the seeder's endpoints ------------------------------------------------------------------
for who in anonymous wrong; do
  creds=(); [ $who = wrong ] && creds=(-u alice:wrong)
  for path in "v1/blobs/$layer?repo=private/app" "v1/blobs/$layer/torrent?repo=private/app"; do
    code=$(curl -s -o "$RK_TMP/body" -w '%{http_code}' "${creds[@]}" "$seeder/$path")
    expect_eq "$code" 401 "$who GET /$path"
    [ "$(wc -c < "$RK_TMP/body")" -lt 1024 ] || fail "$who GET /$path sent a body of $(wc -c < "$RK_TMP/body") bytes"
    secret_free "$(cat "$RK_TMP/body")" "$who GET /$path"
  done
  body=$(curl -s "${creds[@]}" "$seeder/v1/status"); secret_free "$body" "$who /v1/status"
  jq -e '.seeded_blobs == 4' <<<"$body" >/dev/null || fail "/v1/status lost its aggregates: $body"
  body=$(curl -s "${creds[@]}" "$seeder/metrics"); secret_free "$body" "$who /metrics"
  code=$(curl -s -o "$RK_TMP/body" -w '%{http_code}' "${creds[@]}" -X POST -d '{"image":"private/app:v1"}' "$seeder/v1/seed")
  expect_eq "$code" 401 "$who POST /v1/seed"
  secret_free "$(cat "$RK_TMP/body")" "$who POST /v1/seed"
done
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong" -X POST -d '{"image":"private/app:v1"}' "$seeder/v1/seed")
expect_eq "$code" 401 "POST /v1/seed with a wrong operator token"
expect_eq "$(oci_code "$seeder/v1/blobs/$layer")" "400 NAME_INVALID" "web seed without ?repo="
pass "seeder: anonymous and wrong-password callers get 401 and no byte, digest or info-hash"

curl -sf -u alice:s3cret -o "$RK_TMP/web-seed" "$seeder/v1/blobs/$layer?repo=private/app" || fail "alice's web seed GET failed"
expect_eq "$(rk_file_digest "$RK_TMP/web-seed")" "$layer" "the web seed's bytes for alice"
seeded=$(operator_curl -X POST -d '{"image":"private/app:v1"}' "$seeder/v1/seed")
jq -e --arg d "$layer" '[.blobs[] | select(.digest == $d and .info_hash)] | length == 1' <<<"$seeded" >/dev/null \
  || fail "the operator's /v1/seed did not answer with the layer: $seeded"
pass "seeder: alice reads the layer from the web seed; the operator seeds and sees digests"

# --- notifications: the secret, oversize envelopes, a bounded flood --------------------------
before=$(metric "$seeder" rookery_seeder_notifications_total)
envelope() {  # envelope COUNT [SALT]: COUNT push events for manifests that do not exist
  local i events=()
  for ((i = 0; i < $1; i++)); do
    events+=("{\"action\":\"push\",\"target\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"repository\":\"private/app\",\"digest\":\"$(printf '%s-%s' "${2:-x}" "$i" | rk_file_digest)\"}}")
  done
  local IFS=,
  echo "{\"events\":[${events[*]}]}"
}
envelope 5 forged > "$RK_TMP/forged.json"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @"$RK_TMP/forged.json" "$seeder/v1/notifications")
expect_eq "$code" 401 "notification without the secret"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer nope" -X POST --data-binary @"$RK_TMP/forged.json" "$seeder/v1/notifications")
expect_eq "$code" 401 "notification with a wrong secret"
expect_eq "$(metric "$seeder" rookery_seeder_notifications_total)" "$before" "seeds started by forged notifications"
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' > "$RK_TMP/huge.json"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $RK_NOTIFY_SECRET" -X POST --data-binary @"$RK_TMP/huge.json" "$seeder/v1/notifications")
expect_eq "$code" 413 "a 2 MiB notification envelope"
pass "notifications: no secret or a wrong one start nothing (401); oversize envelopes get 413"

envelope 40 flood > "$RK_TMP/flood.json"
code=$(curl -s -o "$RK_TMP/body" -w '%{http_code}' -H "Authorization: Bearer $RK_NOTIFY_SECRET" -X POST --data-binary @"$RK_TMP/flood.json" "$seeder/v1/notifications")
expect_eq "$code" 429 "40 events at once (the queue holds 16)"
code=$(curl -s -o "$RK_TMP/body" -w '%{http_code}' -H "Authorization: Bearer $RK_NOTIFY_SECRET" -X POST --data-binary @"$RK_TMP/flood.json" "$seeder/v1/notifications")
coalesced=$(metric "$seeder" rookery_seeder_notifications_coalesced_total)
peak=$(metric "$seeder" rookery_seeder_image_seeds_peak)
[ "$peak" -ge 1 ] && [ "$peak" -le 2 ] || fail "image seeds in flight peaked at $peak (cap 2)"
[ "$(metric "$seeder" rookery_seeder_image_seeds_queued)" -le 16 ] || fail "queue beyond its bound"
wait_until 60 rk_metric_is "$seeder" rookery_seeder_image_seeds_queued = 0 || fail "the flood did not drain"
pass "a flood of 40 events twice over: at most $peak seeds in flight, the queue bounded, $coalesced duplicates coalesced, drained"

# --- the proxy -------------------------------------------------------------------------------
start_swarm_proxy px "$pp" "$rp" "$sp" --upstream "reg2=http://127.0.0.1:$rp2" --cache-budget-mib 2
proxy=http://127.0.0.1:$pp
for who in anonymous wrong; do
  creds=(); [ $who = wrong ] && creds=(-u alice:wrong)
  code=$(curl -s -o "$RK_TMP/body" -w '%{http_code}' "${creds[@]}" "$proxy/v2/private/app/blobs/$layer")
  expect_eq "$code" 401 "$who blob GET through the proxy"
  secret_free "$(cat "$RK_TMP/body")" "$who blob GET through the proxy"
  body=$(curl -s "${creds[@]}" "$proxy/v1/status"); secret_free "$body" "$who proxy /v1/status"
  body=$(curl -s "${creds[@]}" "$proxy/metrics"); secret_free "$body" "$who proxy /metrics"
done
expect_eq "$(torrent_count "$pp")" 0 "torrents on the proxy after refused requests"

# Starter and follower: an anonymous client and alice ask for the same cold layer at once, in
# both orders; each is judged on its own credentials.
for l in "${layers[1]}" "${layers[2]}"; do
  curl -s -o "$RK_TMP/anon-$l" -w '%{http_code}' "$proxy/v2/private/app/blobs/$l" > "$RK_TMP/anon-code-$l" &
  anon=$!
  curl -s -o "$RK_TMP/alice-$l" -w '%{http_code}' -u alice:s3cret "$proxy/v2/private/app/blobs/$l" > "$RK_TMP/alice-code-$l" &
  wait "$anon" "$!"
  expect_eq "$(cat "$RK_TMP/anon-code-$l")" 401 "anonymous client racing alice for $l"
  expect_eq "$(cat "$RK_TMP/alice-code-$l")" 200 "alice racing an anonymous client for $l"
  expect_eq "$(rk_file_digest "$RK_TMP/alice-$l")" "$l" "alice's bytes of $l"
done
pass "starter and follower: alice gets the layer, the anonymous client 401, whoever came first"

skopeo copy -q --src-tls-verify=false --src-creds alice:s3cret "docker://127.0.0.1:$pp/private/app:v1" "dir:$RK_TMP/alice"
expect_eq "$(digests_in_dir "$RK_TMP/alice")" "$(printf '%s\n' "${layers[@]}" "$CONFIG_DIGEST" | sort)" "layers alice pulled"
from_peers=$(metric "$proxy" rookery_proxy_blob_bytes_from_peers_total)
[ "$from_peers" -gt 0 ] || fail "alice's pull did not come through the swarm"
pass "alice pulls the private image through the swarm ($from_peers bytes from peers)"

# The 2 MiB budget holds at most one of the three 1 MiB layers and the config: the others were
# evicted, and their torrents went with them.
stored=$(curl -s "$proxy/v1/status" | jq '.store.blobs')
wait_until 5 bash -c "[ \$(curl -s $proxy/v1/status | jq '.swarm.torrent_count') -le $stored ]" \
  || fail "torrents ($(torrent_count "$pp")) outlived their evicted blobs ($stored stored)"
for l in "${layers[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$proxy/v2/private/app/blobs/$l")
  expect_eq "$code" 401 "anonymous GET of $l after eviction"
done
pass "evicted blobs leave the swarm ($(torrent_count "$pp") torrents for $stored stored blobs); anonymous still 401"

# A second upstream the seeder does not front: bob's pull works and never touches the seeder.
make_image "$RK_TMP/img2" v1 1 $((512 * 1024))
push_image "$RK_TMP/img2" v1 "127.0.0.1:$rp2/other/app:v1" bob:b0b
skopeo copy -q --src-tls-verify=false --src-creds bob:b0b "docker://127.0.0.1:$pp/other/app:v1?ns=reg2" "dir:$RK_TMP/bob" 2>/dev/null \
  || curl -sf -u bob:b0b -o "$RK_TMP/bob-layer" "$proxy/v2/other/app/blobs/${LAYER_DIGESTS[0]}?ns=reg2" \
  || fail "bob's pull from the second upstream failed"
curl -sf -u bob:b0b -o "$RK_TMP/bob-layer" "$proxy/v2/other/app/blobs/${LAYER_DIGESTS[0]}?ns=reg2" || fail "bob's blob GET failed"
expect_eq "$(rk_file_digest "$RK_TMP/bob-layer")" "${LAYER_DIGESTS[0]}" "bob's layer"
grep -q "${LAYER_DIGESTS[0]#sha256:}" "$RK_TMP/seed/seeder.log" && fail "the seeder was asked about the second upstream's layer"
grep -q "other/app" "$RK_TMP/seed/seeder.log" && fail "the seeder saw the second upstream's repository"
pass "the second upstream's layers and credentials never reach the seeder (its request log)"
