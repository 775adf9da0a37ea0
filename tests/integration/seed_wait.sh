#!/usr/bin/env bash
# `rookery seed IMAGE --wait` against a real registry and seeder, with no push notifications:
# it returns once every blob is seeding (also for an image pushed only while it waits); without
# the operator token, or with a wrong one, it fails and says why.
source "$(dirname "$0")/lib.sh"
ROOKERY=$ROOKERY_BUILD/cli/rookery

rp=$(free_port); sp=$(free_port)
start_registry reg "$rp"  # no notifications: only the CLI makes the seeder seed
start_seeder seed "$sp" "$rp"
make_image "$RK_TMP/img" v1 3 $((1024 * 1024))
push_image "$RK_TMP/img" v1 "127.0.0.1:$rp/demo/app:v1"
expect_eq "$(seeded_count "$sp")" 0 "blobs seeded before the CLI asked"

# Without a token the CLI refuses to start; with a wrong one the seeder refuses.
rc=0
env -u ROOKERY_OPERATOR_TOKEN "$ROOKERY" seed demo/app:v1 --seeder "http://127.0.0.1:$sp" > /dev/null 2>&1 || rc=$?
expect_eq "$rc" 2 "seed without an operator token"
rc=0
ROOKERY_OPERATOR_TOKEN=wrong "$ROOKERY" seed demo/app:v1 --seeder "http://127.0.0.1:$sp" --wait --timeout 10 \
  > /dev/null 2> "$RK_TMP/err" || rc=$?
expect_eq "$rc" 1 "seed with a wrong operator token"
grep -q "401" "$RK_TMP/err" || fail "the refusal is not reported: $(cat "$RK_TMP/err")"
expect_eq "$(seeded_count "$sp")" 0 "blobs seeded for a wrong token"
pass "no token: exit 2; a wrong token: exit 1 with the seeder's 401, nothing seeded"

"$ROOKERY" seed demo/app:v1 --seeder "http://127.0.0.1:$sp" --operator-token-file "$RK_TMP/operator-token" \
  --wait --timeout 60 --json > "$RK_TMP/seed.json" || fail "seed --wait failed"
expect_eq "$(jq -r .seeding "$RK_TMP/seed.json")" true "seeding reported"
expect_eq "$(jq -r '.blobs[].digest' "$RK_TMP/seed.json" | sort)" "$(image_digests)" "blobs the seeder reports"
expect_eq "$(operator_curl "http://127.0.0.1:$sp/v1/status" | jq -r '.seeding[].digest' | sort)" "$(image_digests)" "blobs the seeder seeds"
pass "seed --wait returned with every blob seeding"

# An image that is not pushed yet: --wait keeps trying until it is (a CI job racing its push).
make_image "$RK_TMP/img2" v2 2 $((1024 * 1024))
ROOKERY_OPERATOR_TOKEN=$RK_OPERATOR_TOKEN "$ROOKERY" seed demo/app:v2 --seeder "http://127.0.0.1:$sp" \
  --wait --timeout 60 > "$RK_TMP/seed2.txt" 2> "$RK_TMP/err2" &
seed_pid=$!
sleep 3
kill -0 "$seed_pid" 2>/dev/null || fail "seed --wait of a missing image returned early: $(cat "$RK_TMP/err2")"
push_image "$RK_TMP/img2" v2 "127.0.0.1:$rp/demo/app:v2"
wait "$seed_pid" || fail "seed --wait failed after the push: $(cat "$RK_TMP/err2")"
grep -q "every one seeding" "$RK_TMP/seed2.txt" || fail "unexpected output: $(cat "$RK_TMP/seed2.txt")"
for d in $(image_digests); do grep -q "$d" "$RK_TMP/seed2.txt" || fail "$d not listed"; done
pass "seed --wait of an image pushed while it waited returned once its blobs seeded"

# Without --wait, a missing image fails at once.
rc=0
ROOKERY_OPERATOR_TOKEN=$RK_OPERATOR_TOKEN "$ROOKERY" seed demo/none:v1 --seeder "http://127.0.0.1:$sp" \
  > /dev/null 2> "$RK_TMP/err3" || rc=$?
expect_eq "$rc" 1 "seed of a missing image"
pass "seed of a missing image: exit 1 ($(cat "$RK_TMP/err3"))"
