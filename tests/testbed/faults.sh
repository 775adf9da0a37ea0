#!/usr/bin/env bash
# Faults at cluster scale: an origin and N hosts (default 8) in network namespaces, 10 Mbit/s
# links, every host pulling a 16 MiB image (4 layers) with skopeo through its proxy at once, and
# one fault per scenario, each on a fresh cluster:
#
#   seeder    the seeder is killed (SIGKILL) mid-rollout
#   hosts     half of the proxies are killed mid-rollout; later they restart and pull again
#   registry  the registry is killed once every host has its metainfo; a new tag then fails
#             with a clear error
#   liar      a fleet member (its certificate is good) claims every piece and serves corrupt
#             bytes; the hosts must ban it
#
# Each: every surviving host ends with every blob intact, and no store holds a blob that does
# not hash to its name. Prints per scenario the bytes fetched from the registry instead of the
# swarm (fallbacks), fetch failures, upstream errors, hash failures and bans.
#
# Usage (root): tests/testbed/faults.sh [SCENARIO...]   (default: all four)
#   TB_FAULT_HOSTS=N for another cluster size; RK_KEEP=1 keeps the logs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/testbed/lib.sh
source "$here/lib.sh"
rk_skip_unless_root
scenarios=("$@")
((${#scenarios[@]})) || scenarios=(seeder hosts registry liar)
hosts=${TB_FAULT_HOSTS:-8}
work=$(mktemp -d /tmp/rookery-testbed-faults.XXXXXX)
finish() {
  local status=$?
  tb_clean
  rk_sanitizer_check "$work"/logs/*/*/proxy*.log "$work"/logs/*/*/seeder.log || status=1
  if [ "$status" != 0 ] || [ -n "${RK_KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
  exit "$status"
}
fail() { echo "FAIL: $*" >&2; exit 1; }

image=$work/image
"$TB_ROOT/scripts/make-image" "$image" v1 4 $((4 * 1048576)) >/dev/null
source "$image/digests.env"
blobs=("${LAYER_DIGESTS[@]}" "$CONFIG_DIGEST")
expected=$(printf '%s\n' "${blobs[@]}" | sort)

# cluster_up NAME: a fresh testbed, the image pushed and seeded, a proxy on every host.
cluster_up() {
  TB_LOGS=$work/logs/$1
  mkdir -p "$TB_LOGS"
  tb_net_up "$hosts"
  trap finish EXIT
  tb_start_seeder
  tb_start_registry http://127.0.0.1:8000/v1/notifications
  tb_exec origin skopeo copy -q --dest-tls-verify=false "oci:$image:v1" docker://127.0.0.1:5000/fault/app:v1
  tb_wait_seeded ${#blobs[@]} 60
  tb_start_proxies
}

# pull_on I: skopeo on host I pulls the image through its proxy (in the background; PULLS[I] is
# its pid). Bounded: a pull that hangs is killed after 5 minutes.
declare -a PULLS
pull_on() {
  rm -rf "$TB_LOGS/h$1/pulled"
  tb_spawn "h$1" pull.log timeout 300 skopeo copy -q --retry-times 3 --src-tls-verify=false \
    docker://127.0.0.1:5000/fault/app:v1 "dir:$TB_LOGS/h$1/pulled"
  PULLS[$1]=$!
}

# host_ok I: host I's pull succeeded with every blob intact, and its store holds only good blobs.
host_ok() {
  local bad
  wait "${PULLS[$1]}" || fail "host $1's pull failed: $(tail -3 "$TB_LOGS/h$1/pull.log")"
  [ "$(rk_dir_digests "$TB_LOGS/h$1/pulled")" = "$expected" ] || fail "host $1 got wrong or missing blobs"
  bad=$(rk_bad_blobs "$TB_LOGS/h$1/store")
  [ -z "$bad" ] || fail "host $1 committed a bad blob $bad"
}

# host_metric I NAME: a proxy counter on host I.
host_metric() { RK_NETNS=$(tb_ns "h$1") rk_metric http://127.0.0.1:5000 "$2"; }

# sum_metric NAME HOST...: a proxy counter summed over hosts.
sum_metric() {
  local name=$1 total=0 i
  shift
  for i in "$@"; do total=$((total + $(host_metric "$i" "$name"))); done
  echo "$total"
}

# report NAME HOST...: the scenario's figures over the hosts still running.
report() {
  local name=$1
  shift
  echo "$name: ${#@} hosts with the image;" \
    "bytes from the registry $(sum_metric rookery_proxy_blob_bytes_from_upstream_total "$@")," \
    "from peers $(sum_metric rookery_proxy_blob_bytes_from_peers_total "$@");" \
    "fetch failures $(sum_metric rookery_proxy_blob_fetch_failures_total "$@")," \
    "upstream errors $(sum_metric rookery_proxy_upstream_errors_total "$@")," \
    "hash failures $(sum_metric rookery_proxy_swarm_hash_failures_total "$@")," \
    "peers banned $(sum_metric rookery_proxy_swarm_peers_banned_total "$@")"
}

# kill_in NODE COMMAND: SIGKILL for COMMAND in NODE (at least one must be running).
kill_in() {
  local pids
  pids=$(tb_pids "$1" "$2")
  [ -n "$pids" ] || fail "no $2 runs in $1"
  kill -9 $pids
}

all_hosts() { seq 1 "$hosts"; }

# seeder: SIGKILL to the seeder 3 s into the rollout. Hosts finish from each other and the
# registry: each takes pieces it lacks from the registry into the swarm, in blocks in a shuffled
# order of its own, so the registry sends what the seeder did not about once, not the rest to
# every host.
scenario_seeder() {
  local i from_registry
  cluster_up seeder
  for i in $(all_hosts); do pull_on "$i"; done
  sleep 3
  kill_in origin rookery-seeder
  for i in $(all_hosts); do host_ok "$i"; done
  report "seeder killed mid-rollout" $(all_hosts)
  echo "  fills of missing pieces: $(sum_metric 'rookery_proxy_swarm_fallbacks_total{reason="fill"}' $(all_hosts))," \
    "rest of a blob after a stall: $(sum_metric 'rookery_proxy_swarm_fallbacks_total{reason="stall"}' $(all_hosts))"
  from_registry=$(sum_metric rookery_proxy_blob_bytes_from_upstream_total $(all_hosts))
  # The image is 16 MiB of layers; every host taking the rest of each layer would be ~8 times that.
  ((from_registry < 2 * 16 * 1048576)) || fail "the registry sent $from_registry bytes: more than twice the image"
}

# hosts: SIGKILL to the first half of the proxies 3 s in; the rest finish. The killed ones
# restart on their stores and pull again.
scenario_hosts() {
  local i half=$((hosts / 2))
  cluster_up hosts
  for i in $(all_hosts); do pull_on "$i"; done
  sleep 3
  for ((i = 1; i <= half; i++)); do kill_in "h$i" rookery-proxy; done
  for ((i = half + 1; i <= hosts; i++)); do host_ok "$i"; done
  for ((i = 1; i <= half; i++)); do
    wait "${PULLS[$i]}" 2>/dev/null && fail "host $i's pull cannot have finished through a killed proxy"
    mv "$TB_LOGS/h$i/proxy.log" "$TB_LOGS/h$i/proxy-killed.log"
    tb_start_proxy "$i"
  done
  for ((i = 1; i <= half; i++)); do tb_wait_tcp "h$i" 127.0.0.1:5000; done
  for ((i = 1; i <= half; i++)); do pull_on "$i"; done
  for ((i = 1; i <= half; i++)); do host_ok "$i"; done
  report "half the hosts killed mid-rollout, restarted and pulled again" $(all_hosts)
}

# every_host_has_torrents: each proxy has joined a torrent for every layer.
every_host_has_torrents() {
  local i
  for i in $(all_hosts); do
    [ "$(host_metric "$i" rookery_proxy_swarm_torrents)" -ge ${#LAYER_DIGESTS[@]} ] || return 1
  done
}

# registry: SIGKILL to the registry once every host has its torrents: the swarm serves every
# byte. A tag nobody resolved before then fails with an OCI error, not a hang.
scenario_registry() {
  local i code
  cluster_up registry
  for i in $(all_hosts); do pull_on "$i"; done
  rk_wait_until 30 every_host_has_torrents || fail "the hosts did not join the image's torrents"
  kill_in origin docker-registry
  for i in $(all_hosts); do host_ok "$i"; done
  code=$(tb_exec h1 curl -s -o "$TB_LOGS/h1/new-tag.json" -w '%{http_code}' \
    http://127.0.0.1:5000/v2/fault/app/manifests/v2)
  [ "${code:0:1}" = 5 ] && jq -e '.errors[0].code' "$TB_LOGS/h1/new-tag.json" >/dev/null \
    || fail "a new tag with the registry gone: HTTP $code, $(cat "$TB_LOGS/h1/new-tag.json")"
  echo "a new tag with the registry down: HTTP $code, $(jq -c '.errors[0]' "$TB_LOGS/h1/new-tag.json")"
  report "registry killed mid-rollout" $(all_hosts)
}

# liar: a fleet member with a good certificate that claims every piece and sends corrupt
# bytes, joined before the rollout starts.
scenario_liar() {
  local i d files=() lied
  cluster_up liar
  tb_add_node liar 198.18.2.1
  rk_fleet_ca "$TB_LOGS/secrets/ca" "$TB_LOGS/secrets/hosts" liar
  mkdir -p "$TB_LOGS/liar/data"
  for d in "${LAYER_DIGESTS[@]}"; do
    cp "$image/blobs/sha256/${d#sha256:}" "$TB_LOGS/liar/data/"
    tb_exec origin curl -sf -o "$TB_LOGS/liar/${d#sha256:}.torrent" \
      "http://127.0.0.1:8000/v1/blobs/$d/torrent?repo=fault/app" || fail "no metainfo for $d"
    files+=("$TB_LOGS/liar/${d#sha256:}.torrent")
  done
  tb_spawn liar liar.log /usr/bin/python3 "$here/liar_peer.py" 198.18.2.1:6881 \
    "$TB_LOGS/secrets/hosts/liar.pem" "$TB_LOGS/secrets/hosts/liar.key" "$TB_LOGS/liar/data" \
    "$TB_LOGS/liar/stop" "${files[@]}"
  sleep 3  # it has announced to the seeder's tracker
  for i in $(all_hosts); do pull_on "$i"; done
  for i in $(all_hosts); do host_ok "$i"; done
  touch "$TB_LOGS/liar/stop"
  rk_wait_until 10 test -s "$TB_LOGS/liar/liar.log" || true
  lied=$(tail -1 "$TB_LOGS/liar/liar.log")
  echo "the liar: $lied"
  [ "$(jq .peers <<<"$lied" 2>/dev/null || echo 0)" -gt 0 ] || fail "no host connected to the liar: the scenario tested nothing"
  [ "$(sum_metric rookery_proxy_swarm_peers_banned_total $(all_hosts))" -gt 0 ] || fail "nobody banned the liar"
  report "a peer serving corrupt pieces" $(all_hosts)
}

for s in "${scenarios[@]}"; do
  declare -F "scenario_$s" >/dev/null || fail "no scenario $s (seeder, hosts, registry, liar)"
  "scenario_$s"
  tb_clean
  echo "ok: $s"
done
