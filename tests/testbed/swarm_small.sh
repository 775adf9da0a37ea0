#!/usr/bin/env bash
# The swarm benchmark in small (bench/swarm, rookery mode): an origin and 3 hosts in network
# namespaces, 10 Mbit/s links, a 16 MiB image pulled by all hosts at once with skopeo through
# their proxies. Every host must get every blob intact (bench/swarm checks each digest), the
# seeder's piece dealer must have dealt the pieces so that the origin sends each about once
# (under 1.35 images on the wire, TCP and TLS included, where 3 hosts pulling directly take 3),
# and no proxy may have needed the registry.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$root/scripts/lib/common.sh"
rk_skip_unless_root
out=$(mktemp -d /tmp/rookery-testbed-small.XXXXXX)
keep=0
finish() {
  # Under the sanitizer build, a report in any rookery log fails the test.
  rk_sanitizer_check "$out"/logs/*/*/proxy.log "$out"/logs/*/*/seeder.log || keep=1 status=1
  if [ "$keep" = 1 ]; then echo "kept $out"; else rm -rf "$out"; fi
  exit "${status:-0}"
}
trap 'status=$?; [ $status = 0 ] || keep=1; finish' EXIT

"$root/bench/swarm" --hosts 3 --modes rookery --image-mib 16 --out "$out"

run=$(jq '.[0]' "$out/results.json")
hosts=$(jq '.per_host | length' <<<"$run")
[ "$hosts" = 3 ] || { echo "FAIL: $hosts hosts reported, expected 3" >&2; exit 1; }
egress=$(jq '.origin_egress_bytes / .image_bytes' <<<"$run")
upstream=$(jq '[.per_host[].bytes_from_upstream] | add' <<<"$run")
echo "origin egress ${egress}x the image; bytes from the registry at the hosts: $upstream"
dealt=$(rk_prom_value rookery_seeder_pieces_dealt_total < "$out"/logs/rookery-n3-*/origin/seeder.metrics)
echo "pieces dealt by the seeder: $dealt"
[ "${dealt:-0}" -gt 0 ] || { echo "FAIL: the seeder dealt no pieces" >&2; exit 1; }
awk -v e="$egress" 'BEGIN {exit !(e < 1.35)}' || { echo "FAIL: the origin sent ${egress}x the image (limit 1.35 for 3 hosts)" >&2; exit 1; }
[ "$upstream" = 0 ] || { echo "FAIL: proxies fetched $upstream bytes from the registry instead of the swarm" >&2; exit 1; }
echo "ok: 3 hosts, every blob intact, origin sent ${egress}x the image, all through the swarm"
