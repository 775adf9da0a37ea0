#!/usr/bin/env bash
# examples/ci/push-and-seed, the CI step, run as a pipeline would: it pushes an image with skopeo
# to a real registry and returns once rookery-seeder seeds every blob of what was pushed (the
# registry sends no notifications here: only the step makes the seeder seed). With a wrong
# operator token the step fails, so the pipeline does too.
source "$(dirname "$0")/lib.sh"
step=$RK_EXAMPLES/ci/push-and-seed

rp=$(free_port); sp=$(free_port)
start_registry reg "$rp"
start_seeder seed "$sp" "$rp"
make_image "$RK_TMP/img" v1 3 $((512 * 1024))

ci_step() {
  env IMAGE_SOURCE="oci:$RK_TMP/img:v1" REGISTRY="127.0.0.1:$rp" IMAGE="$1" \
    ROOKERY_SEEDER="http://127.0.0.1:$sp" ROOKERY_OPERATOR_TOKEN="$2" REGISTRY_TLS_VERIFY=false \
    SEED_TIMEOUT=60 ROOKERY="$ROOKERY_BUILD/cli/rookery" bash "$step"
}

ci_step team/app:v1 "$RK_OPERATOR_TOKEN" > "$RK_TMP/step.log" 2>&1 || fail "the CI step failed: $(tail -5 "$RK_TMP/step.log")"
grep -q "pushed 127.0.0.1:$rp/team/app:v1 ($MANIFEST_DIGEST)" "$RK_TMP/step.log" || fail "push not reported: $(cat "$RK_TMP/step.log")"
expect_eq "$(skopeo inspect --tls-verify=false "docker://127.0.0.1:$rp/team/app:v1" | jq -r .Digest)" "$MANIFEST_DIGEST" "digest in the registry"
expect_eq "$(operator_curl "http://127.0.0.1:$sp/v1/status" | jq -r '.seeding[].digest' | sort)" "$(image_digests)" "blobs the seeder seeds"
pass "the CI step pushed the image and returned with every blob seeding"

rc=0
ci_step team/app:v2 wrong-token > "$RK_TMP/step2.log" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "the CI step succeeded with a wrong operator token"
grep -q 401 "$RK_TMP/step2.log" || fail "the refusal is not reported: $(cat "$RK_TMP/step2.log")"
pass "with a wrong operator token the CI step fails (exit $rc) and says why"
