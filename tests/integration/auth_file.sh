#!/usr/bin/env bash
# Registry credentials from auth files (docker config.json, containers-auth.json via
# $REGISTRY_AUTH_FILE): proxies and the seeder log in to an htpasswd registry with them, the
# CLI takes --username with --password-stdin, and no password reaches a log or an error.
source "$(dirname "$0")/lib.sh"
ROOKERY=$ROOKERY_BUILD/cli/rookery

htpasswd -Bbn alice s3cret-pw > "$RK_TMP/htpasswd"
rp=$(free_port); p1=$(free_port); p2=$(free_port); p3=$(free_port); sp=$(free_port)
start_registry reg "$rp" "$RK_TMP/htpasswd"
make_image "$RK_TMP/img" v1 2 100000
push_image "$RK_TMP/img" v1 "127.0.0.1:$rp/private/app:v1" alice:s3cret-pw
auth=$(printf 'alice:s3cret-pw' | base64 -w0)
printf '{"auths": {"127.0.0.1:%s": {"auth": "%s"}, "other.example": {}}}' "$rp" "$auth" > "$RK_TMP/config.json"
printf '{"auths": {"http://127.0.0.1:%s/v2/": {"auth": "%s"}}}' "$rp" "$auth" > "$RK_TMP/containers-auth.json"

# anon_pull PORT DIR: an anonymous client pulls the private image through a proxy.
anon_pull() { skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$1/private/app:v1" "dir:$2" 2>"$2.err"; }

start_proxy docker "$p1" --upstream "http://127.0.0.1:$rp" --auth-file "$RK_TMP/config.json"
anon_pull "$p1" "$RK_TMP/via-docker" || fail "pull via --auth-file: $(cat "$RK_TMP/via-docker.err")"
expect_eq "$(digests_in_dir "$RK_TMP/via-docker")" "$(image_digests)" "layers via --auth-file"
grep -q 'upstream default logs in as alice' "$RK_TMP/docker/proxy.log" || fail "login not logged"
grep -q 'no "auth" for other.example' "$RK_TMP/docker/proxy.log" || fail "helper entry not named"
pass "--auth-file (docker config.json) logs the proxy in"

REGISTRY_AUTH_FILE=$RK_TMP/containers-auth.json start_proxy containers "$p2" --upstream "http://127.0.0.1:$rp"
anon_pull "$p2" "$RK_TMP/via-env" || fail "pull via REGISTRY_AUTH_FILE: $(cat "$RK_TMP/via-env.err")"
expect_eq "$(digests_in_dir "$RK_TMP/via-env")" "$(image_digests)" "layers via REGISTRY_AUTH_FILE"
pass "\$REGISTRY_AUTH_FILE (containers-auth.json, URL key) logs the proxy in"

# A broken file stops the proxy at start with the reason, never the secret.
printf '{"auths": {"127.0.0.1:%s": {"auth": "s3cret-pw!"}}}' "$rp" > "$RK_TMP/bad.json"
set +e
"$ROOKERY_BUILD/registry-proxy/rookery-proxy" --listen "127.0.0.1:$(free_port)" --store "$RK_TMP/bad-store" \
  --upstream "http://127.0.0.1:$rp" --auth-file "$RK_TMP/bad.json" > "$RK_TMP/bad.out" 2>&1
status=$?
set -e
expect_eq "$status" 2 "exit status with a bad auth file"
grep -q "registry 127.0.0.1:$rp: \"auth\" is not base64" "$RK_TMP/bad.out" || fail "no reason: $(cat "$RK_TMP/bad.out")"
pass "a bad auth file: exit 2 with the reason"

# The seeder reads the same file; the CLI logs in with --username and --password-stdin.
start_seeder seed "$sp" "$rp" --auth-file "$RK_TMP/config.json"
ROOKERY_OPERATOR_TOKEN=$RK_OPERATOR_TOKEN "$ROOKERY" seed private/app:v1 --seeder "http://127.0.0.1:$sp" --wait --timeout 60 >/dev/null \
  || fail "the seeder could not seed the private image"
pass "the seeder logs in with --auth-file"
start_proxy plain "$p3" --upstream "http://127.0.0.1:$rp" --no-prefetch
printf 's3cret-pw\n' | "$ROOKERY" prewarm private/app:v1 --proxy "http://127.0.0.1:$p3" --username alice --password-stdin --json --timeout 60 > "$RK_TMP/prewarm.out" \
  || fail "prewarm with --password-stdin: $(tail -3 "$RK_TMP/prewarm.out")"
expect_eq "$(rk_dir_digests "$RK_TMP/plain/store/blobs/blobs/sha256")" "$(image_digests)" "blobs prewarmed"
if printf '\n' | "$ROOKERY" prewarm private/app:v1 --proxy "http://127.0.0.1:$p3" --username alice --password-stdin 2>"$RK_TMP/empty.err"; then
  fail "an empty password was accepted"
fi
grep -q 'no password on stdin' "$RK_TMP/empty.err" || fail "no reason: $(cat "$RK_TMP/empty.err")"
printf 's3cret-pw\n' | "$ROOKERY" export private/app:v1 "$RK_TMP/app.tar" --registry "http://127.0.0.1:$rp" \
  --username alice --password-stdin --format oci 2>"$RK_TMP/export.err" || fail "export: $(cat "$RK_TMP/export.err")"
skopeo inspect --raw "oci-archive:$RK_TMP/app.tar" | jq -e '.layers | length == 2' >/dev/null || fail "the export is not the image"
pass "rookery prewarm and export --username --password-stdin"

if grep -l 's3cret-pw' "$RK_TMP"/*/proxy.log "$RK_TMP"/*/seeder.log "$RK_TMP/bad.out" "$RK_TMP/prewarm.out" "$RK_TMP/export.err"; then
  fail "a password reached a log"
fi
pass "no password in any log"
