# shellcheck shell=bash
# Bash helpers shared by the integration tests, the network-namespace testbed, the benchmarks and
# scripts/quickstart. Source it: it only defines functions (and RK_LIB_DIR, RK_EXAMPLES); it starts
# nothing, sets no traps and leaves the caller's shell options alone. Every function works under
# `set -euo pipefail`, and every wait is bounded.
#
# Where a caller sets RK_NETNS (e.g. `RK_NETNS=rk-tb-origin rk_metric ...`), the functions that
# talk to the network run their commands inside that network namespace (ip netns exec, as root).
# Files are always the caller's: helpers that make a file's text print it, the caller writes it.

RK_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_EXAMPLES=$(cd "$RK_LIB_DIR/../../examples" && pwd)

# rk_run CMD...: CMD, inside network namespace $RK_NETNS when that is set.
rk_run() {
  if [ -n "${RK_NETNS:-}" ]; then ip netns exec "$RK_NETNS" "$@"; else "$@"; fi
}

# rk_wait_until SECONDS CMD...: runs CMD every 0.1 s until it succeeds; 1 when SECONDS pass first.
rk_wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    rk_nap 0.1
  done
}

# rk_nap SECONDS: sleeps without starting a process (read's timeout on a pipe nobody writes to,
# opened once per shell). A benchmark's waits then take no CPU from what it measures: starting
# `sleep` ten times a second cost a CPU-bound testbed a visible share.
rk_nap() {
  [ -n "${RK_NAP_FD:-}" ] || exec {RK_NAP_FD}<> <(:)
  read -rt "$1" -u "$RK_NAP_FD" _ || :
}

# rk_http_up URL: whether anything answers HTTP at URL (any status).
rk_http_up() { rk_run curl -s -o /dev/null "$1"; }

# rk_tcp_open HOST PORT: whether something accepts TCP connections on HOST:PORT.
# shellcheck disable=SC2016 # $1 and $2 are the inner bash's
rk_tcp_open() { rk_run bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null; }

# rk_prom_value NAME: the value of the Prometheus sample NAME in the metrics text on stdin
# (0 when absent).
rk_prom_value() { awk -v n="$1" '$1 == n {print $2; found=1} END {if (!found) print 0}'; }

# rk_metric BASE_URL NAME: the value of one sample of BASE_URL/metrics (0 when absent or when
# nothing answers).
rk_metric() { { rk_run curl -s "$1/metrics" || true; } | rk_prom_value "$2"; }

# rk_metric_is BASE_URL NAME OP VALUE: whether the sample compares so to VALUE (OP as for test:
# -ge, -eq, =, ...).
rk_metric_is() { test "$(rk_metric "$1" "$2")" "$3" "$4"; }

# rk_wait_seeded BASE_URL COUNT SECONDS: until the seeder at BASE_URL seeds at least COUNT blobs
# (rookery_seeder_seeded_blobs); 1 on timeout.
rk_wait_seeded() { rk_wait_until "$3" rk_metric_is "$1" rookery_seeder_seeded_blobs -ge "$2"; }

# rk_skip_unless_root: a test that needs root (network namespaces, tc) exits 77, which ctest
# reports as skipped, when it has not got it.
rk_skip_unless_root() {
  [ "$(id -u)" = 0 ] && return
  echo "SKIP: network namespaces need root"
  exit 77
}

# rk_file_digest [FILE]: "sha256:<hex>" of FILE (of stdin without one).
rk_file_digest() { echo "sha256:$(sha256sum "$@" | cut -d' ' -f1)"; }

# rk_bad_blobs STORE: the names of the blobs in a rookery store (STORE/blobs/blobs/sha256/*) that
# do not hash to their name, one a line; nothing when every one does.
rk_bad_blobs() {
  local f
  for f in "$1"/blobs/blobs/sha256/*; do
    [ -e "$f" ] || continue
    [ "$(rk_file_digest "$f")" = "sha256:$(basename "$f")" ] || basename "$f"
  done
  return 0
}

# rk_flip_byte FILE OFFSET: inverts every bit of the byte at OFFSET, in place, so the file is
# sure to change (writing a fixed byte does nothing one time in 256).
rk_flip_byte() {
  local b
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  [ -n "$b" ] || return 1
  printf "\\$(printf '%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# rk_dir_digests DIR: sorted "sha256:<hex>" of the blob files in DIR, a flat directory of blobs
# such as a skopeo `dir:` copy (manifest.json, version, index.json, oci-layout and *.torrent are
# not blobs and are skipped).
rk_dir_digests() {
  (
    cd "$1" || exit
    for f in *; do
      case $f in manifest.json | version | index.json | oci-layout | *.torrent) ;; *) rk_file_digest "$f" ;; esac
    done
  ) | sort
}

# rk_spread: "MIN MEDIAN MAX" of the numbers on stdin, one a line.
rk_spread() { sort -g | awk '{a[NR] = $1} END {print a[1], a[int((NR + 1) / 2)], a[NR]}'; }

# rk_registry_config DATA_DIR LISTEN_ADDR [OPTION...]: prints a config.yml for docker-registry
# (distribution) storing under DATA_DIR, listening on LISTEN_ADDR, access log on. Options:
#   --http-secret SECRET   http.secret (without one the registry makes up its own at each start)
#   --delete               lets clients delete manifests and blobs
#   --htpasswd REALM FILE  basic authentication against FILE, challenges naming REALM
#   --notify URL SECRET    sends push notifications to URL with "Authorization: Bearer SECRET"
#                          (examples/registry-notifications.yml)
rk_registry_config() {
  local data=$1 addr=$2 http_secret='' delete='' auth='' notify=''
  shift 2
  while [ $# -gt 0 ]; do
    case $1 in
      --http-secret) http_secret=", secret: $2"; shift 2 ;;
      --delete) delete=", delete: {enabled: true}"; shift ;;
      --htpasswd) auth="auth: {htpasswd: {realm: $2, path: $3}}"; shift 3 ;;
      --notify)
        # examples/registry-notifications.yml with this URL and secret, so the example is what runs.
        notify=$(sed -e "s#http://seeder.example.internal:5060/v1/notifications#$2#" \
          -e "s#REPLACE-WITH-THE-NOTIFY-SECRET#$3#" \
          "$RK_EXAMPLES/registry-notifications.yml") || return 1
        grep -qF "url: $2" <<<"$notify" || { echo "rk_registry_config: the notifications example changed" >&2; return 1; }
        shift 3
        ;;
      *) echo "rk_registry_config: unknown option $1" >&2; return 2 ;;
    esac
  done
  echo "version: 0.1"
  echo "log: {level: info, accesslog: {disabled: false}}"
  echo "storage: {filesystem: {rootdirectory: $data}$delete}"
  echo "http: {addr: $addr$http_secret}"
  if [ -n "$auth" ]; then echo "$auth"; fi
  if [ -n "$notify" ]; then echo "$notify"; fi
}

# rk_make_secrets DIR: DIR/notify-secret (what the registry sends with its notifications) and
# DIR/operator-token (what operators present to the seeder), random and readable by the owner
# only; a file already there is kept.
rk_make_secrets() {
  local f
  mkdir -p "$1"
  for f in notify-secret operator-token; do
    [ -s "$1/$f" ] || (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$1/$f")
  done
}

# rk_fleet_ca CA_DIR HOSTS_DIR HOST...: a fleet CA in CA_DIR (scripts/fleet-ca; kept when there)
# and a certificate signed by it for every HOST lacking one in HOSTS_DIR (HOST.pem, HOST.key).
rk_fleet_ca() {
  local ca=$1 hosts=$2 host
  shift 2
  [ -e "$ca/ca.key" ] || "$RK_LIB_DIR/../fleet-ca" init "$ca" >/dev/null
  for host in "$@"; do
    [ -e "$hosts/$host.pem" ] || "$RK_LIB_DIR/../fleet-ca" issue "$ca" "$host" "$hosts" >/dev/null
  done
}

# rk_fleet_args CA_DIR HOSTS_DIR HOST PEER_ALLOW: the flags that make a rookery process HOST of
# that fleet, taking peers from the networks PEER_ALLOW only (for an unquoted $(...)).
rk_fleet_args() {
  echo --fleet-ca "$1/ca.pem" --fleet-cert "$2/$3.pem" --fleet-key "$2/$3.key" --peer-allow "$4"
}

# rk_sanitizer_check LOG...: 1, with the reports on stderr, when one of the logs (rookery's
# proxy.log, seeder.log; missing ones are fine) holds an AddressSanitizer, LeakSanitizer or UBSan
# report.
rk_sanitizer_check() {
  local reports
  reports=$(grep -l -E "ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:" "$@" 2>/dev/null || true)
  [ -z "$reports" ] && return 0
  echo "FAIL: sanitizer reports in: $reports" >&2
  # shellcheck disable=SC2086 # one log path a line, none with spaces
  cat $reports >&2
  return 1
}
