#!/usr/bin/env bash
# Every rookery-proxy, rookery-seeder and rookery command line in examples/ (systemd units,
# Kubernetes manifests) is accepted by the binaries: each runs with --check-flags, a real parse
# of every flag and value. The check is shown to fail: a copy of the examples with an unknown
# flag in a unit, or a bad value in a manifest, is refused and named.
source "$(dirname "$0")/lib.sh"
examples=$RK_EXAMPLES
checker=$(dirname "$0")/example_flags.py

python3 "$checker" "$ROOKERY_BUILD" "$examples" > "$RK_TMP/checked.txt" || fail "$(cat "$RK_TMP/checked.txt")"
cat "$RK_TMP/checked.txt"
for binary in rookery-proxy rookery-seeder rookery; do
  grep -q "^ok: .*/$binary " "$RK_TMP/checked.txt" || fail "no $binary command line was checked"
done
for f in systemd/rookery-proxy.service systemd/rookery-seeder.service kubernetes/rookery-proxy.yaml \
  kubernetes/rookery-seeder.yaml; do
  grep -q "^ok: $examples/$f:" "$RK_TMP/checked.txt" || fail "$f was not checked"
done
pass "every rookery command line in examples/ is accepted"

# An unknown flag in a unit file, then a malformed value in a manifest: each refused, by name.
cp -r "$examples" "$RK_TMP/bad1"
sed -i 's|--cache-budget-mib 20480|--cache-budget-mib 20480 --no-such-flag|' "$RK_TMP/bad1/systemd/rookery-proxy.service"
rc=0
python3 "$checker" "$ROOKERY_BUILD" "$RK_TMP/bad1" > "$RK_TMP/bad1.txt" || rc=$?
expect_eq "$rc" 1 "checker exit status with an unknown flag"
grep -q "^REFUSED: $RK_TMP/bad1/systemd/rookery-proxy.service:" "$RK_TMP/bad1.txt" || fail "unknown flag not reported: $(cat "$RK_TMP/bad1.txt")"
cp -r "$examples" "$RK_TMP/bad2"
sed -i 's|- 10.0.0.0/8|- 10.0.0.0/80|' "$RK_TMP/bad2/kubernetes/rookery-seeder.yaml"
rc=0
python3 "$checker" "$ROOKERY_BUILD" "$RK_TMP/bad2" > "$RK_TMP/bad2.txt" || rc=$?
expect_eq "$rc" 1 "checker exit status with a bad --peer-allow"
grep -A1 "^REFUSED: $RK_TMP/bad2/kubernetes/rookery-seeder.yaml:" "$RK_TMP/bad2.txt" | grep -q -- "--peer-allow" \
  || fail "bad value not reported: $(cat "$RK_TMP/bad2.txt")"
expect_eq "$(grep -c '^REFUSED' "$RK_TMP/bad2.txt")" 1 "command lines refused in the second copy"
pass "an unknown flag in a unit and a bad value in a manifest are refused and named"

# --bt-setting is checked against libtorrent's own settings, in both daemons.
for daemon in "registry-proxy/rookery-proxy --upstream http://r:5000 --seeder http://s:5060" \
  "seeder/rookery-seeder --registry http://r:5000"; do
  read -ra cmd <<<"$daemon"
  binary=${cmd[0]}
  "$ROOKERY_BUILD/$binary" "${cmd[@]:1}" --check-flags --bt-setting aio_threads=2 \
    --bt-setting enable_dht=false >/dev/null || fail "$binary refused good --bt-setting values"
  rc=0
  "$ROOKERY_BUILD/$binary" "${cmd[@]:1}" --check-flags --bt-setting aio_thread=2 2>"$RK_TMP/bt.err" || rc=$?
  expect_eq "$rc" 2 "$binary exit status with an unknown libtorrent setting"
  grep -q -- "--bt-setting: 'aio_thread=2' is not NAME=VALUE with a libtorrent setting" "$RK_TMP/bt.err" \
    || fail "unknown setting not named: $(cat "$RK_TMP/bt.err")"
  for disk in pread posix mmap; do
    "$ROOKERY_BUILD/$binary" "${cmd[@]:1}" --check-flags --bt-disk-io "$disk" >/dev/null \
      || fail "$binary refused --bt-disk-io $disk"
  done
  rc=0
  "$ROOKERY_BUILD/$binary" "${cmd[@]:1}" --check-flags --bt-disk-io aio 2>"$RK_TMP/disk.err" || rc=$?
  expect_eq "$rc" 2 "$binary exit status with an unknown --bt-disk-io"
  grep -q -- "--bt-disk-io" "$RK_TMP/disk.err" || fail "bad --bt-disk-io not named: $(cat "$RK_TMP/disk.err")"
done
pass "--bt-setting takes libtorrent's settings by name and refuses an unknown one; --bt-disk-io pread, posix or mmap"
