#!/usr/bin/env bash
# Tag freshness policy (--tag-stale-seconds): while the registry is down, a tag resolved within
# the window is answered from the cache, marked Rookery-Stale-Tag, and a pull by tag works; with
# the policy off, past the window, or for a tag never resolved, the answer is a clear 503. While
# the registry answers (also 404), the cache never stands in for it.
source "$(dirname "$0")/lib.sh"

rp=$(free_port); pon=$(free_port); poff=$(free_port); pshort=$(free_port)
start_registry reg "$rp"
make_image "$RK_TMP/img" v1 2 200000
push_image "$RK_TMP/img" v1 "127.0.0.1:$rp/demo/app:v1"
start_proxy on "$pon" --upstream "http://127.0.0.1:$rp" --tag-stale-seconds 300
start_proxy off "$poff" --upstream "http://127.0.0.1:$rp"
start_proxy short "$pshort" --upstream "http://127.0.0.1:$rp" --tag-stale-seconds 2
# containerd names the registry with ?ns= and resolves tags with HEAD.
registry=127.0.0.1:$rp; pctr=$(free_port)
start_proxy ctr "$pctr" --upstream "$registry=http://$registry" --tag-stale-seconds 300
mkdir -p "$RK_TMP/certs.d/$registry"
printf 'server = "http://%s"\n\n[host."http://127.0.0.1:%s"]\n  capabilities = ["pull", "resolve"]\n' \
  "$registry" "$pctr" > "$RK_TMP/certs.d/$registry/hosts.toml"
start_containerd ctrd
ctr_pull() {
  ctr --address "$CTR_ADDRESS" images pull --hosts-dir "$RK_TMP/certs.d" --snapshotter native \
    "$registry/demo/app:v1" > "$RK_TMP/ctr.log" 2>&1
}
accept='Accept: application/vnd.oci.image.manifest.v1+json'

# pull PORT DIR: skopeo copy of demo/app:v1 through a proxy.
pull() { skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$1/demo/app:v1" "dir:$2" 2>"$2.err"; }
# headers PORT [CURL ARGS]: the response head of a GET of the tag, lower-cased.
headers() { curl -s -D - -o /dev/null -H "$accept" "${@:2}" "http://127.0.0.1:$1/v2/demo/app/manifests/v1" | tr -d '\r' | tr A-Z a-z; }
for port in "$pon" "$poff" "$pshort"; do
  pull "$port" "$RK_TMP/warm-$port" || fail "pull through :$port: $(cat "$RK_TMP/warm-$port.err")"
done
ctr_pull || fail "ctr pull: $(tail -5 "$RK_TMP/ctr.log")"
if headers "$pon" | grep -q '^rookery-stale-tag:'; then fail "a stale mark while the registry is up"; fi
pass "tags resolved upstream while it is up, unmarked"

stop_pid "$REGISTRY_PID"
pull "$pon" "$RK_TMP/down-on" || fail "pull by tag with the registry down: $(cat "$RK_TMP/down-on.err")"
expect_eq "$(digests_in_dir "$RK_TMP/down-on")" "$(image_digests)" "layers pulled with the registry down"
head=$(headers "$pon")
grep -q '^http/1.1 200' <<<"$head" || fail "tag not answered from the cache: $head"
age=$(awk -F': ' '$1 == "rookery-stale-tag" {print $2}' <<<"$head")
[[ "$age" =~ ^[0-9]+$ ]] && [ "$age" -lt 300 ] || fail "Rookery-Stale-Tag is '$age'"
grep -q "^docker-content-digest: $MANIFEST_DIGEST" <<<"$head" || fail "wrong digest: $head"
headers "$pon" -I | grep -q '^rookery-stale-tag:' || fail "HEAD of the tag (containerd) not answered"
[ "$(metric "http://127.0.0.1:$pon" rookery_proxy_stale_tag_answers_total)" -ge 3 ] || fail "stale answers not counted"
pass "registry down: the tag comes from the cache (Rookery-Stale-Tag: $age) and the pull works"

# containerd forgets the image and its content, then pulls it again by tag.
ctr --address "$CTR_ADDRESS" images rm "$registry/demo/app:v1" >/dev/null
for d in "${LAYER_DIGESTS[@]}" "$CONFIG_DIGEST" "$MANIFEST_DIGEST"; do
  ctr --address "$CTR_ADDRESS" content rm "$d" >/dev/null 2>&1 || true
done
[ -z "$(ctr --address "$CTR_ADDRESS" content ls -q)" ] || fail "containerd kept content"
ctr_pull || fail "ctr pull with the registry down: $(tail -5 "$RK_TMP/ctr.log")"
ctr --address "$CTR_ADDRESS" images check 2>/dev/null | grep -q "complete" || fail "image not complete in containerd"
[ "$(metric "http://127.0.0.1:$pctr" rookery_proxy_stale_tag_answers_total)" -ge 1 ] || fail "containerd's resolve was not a stale answer"
pass "registry down: containerd resolves the tag (HEAD) from the cache and pulls the image"

expect_eq "$(oci_code "http://127.0.0.1:$poff/v2/demo/app/manifests/v1")" "503 UNAVAILABLE" "policy off"
if pull "$poff" "$RK_TMP/down-off"; then fail "a pull by tag worked with the policy off"; fi
curl -s "http://127.0.0.1:$pon/v2/demo/app/manifests/v2" | jq -e '.errors[0].code == "UNAVAILABLE" and (.errors[0].detail | test("never resolved here"))' >/dev/null \
  || fail "a tag never resolved is not refused clearly"
sleep 3
body=$(curl -s -w '\n%{http_code}' "http://127.0.0.1:$pshort/v2/demo/app/manifests/v1")
expect_eq "$(tail -n1 <<<"$body")" 503 "tag past its window"
head -n -1 <<<"$body" | jq -e '.errors[0].detail | test("longer than --tag-stale-seconds 2 allows")' >/dev/null \
  || fail "no reason for the refusal past the window: $body"
[ "$(metric "http://127.0.0.1:$pshort" rookery_proxy_stale_tag_refusals_total)" -ge 1 ] || fail "refusal not counted"
pass "policy off, past the window, or never resolved: 503 UNAVAILABLE with the reason"

# The registry is back and the tag is gone: its 404 is answered, not the cache.
start_registry reg "$rp"
curl -sf -X DELETE "http://127.0.0.1:$rp/v2/demo/app/manifests/$MANIFEST_DIGEST" || fail "could not delete the manifest"
expect_eq "$(oci_code "http://127.0.0.1:$pon/v2/demo/app/manifests/v1" -H "$accept")" "404 MANIFEST_UNKNOWN" "deleted tag"
pass "a 404 upstream is relayed, never covered by the cache"
