# Shared helpers for the integration tests: temp dirs, free ports, a real docker-registry,
# rookery-proxy, generated OCI images. Source it; everything it starts is stopped on exit.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

ROOKERY_BUILD=${ROOKERY_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../build" && pwd)}
RK_TMP=$(mktemp -d /tmp/rookery-it.XXXXXX)
RK_PIDS=()
# The secrets every seeder started here is given: the registry sends the first with its
# notifications, operators present the second.
rk_make_secrets "$RK_TMP"
RK_NOTIFY_SECRET=$(cat "$RK_TMP/notify-secret")
RK_OPERATOR_TOKEN=$(cat "$RK_TMP/operator-token")

rk_cleanup() {
  [ "${RK_DEBUG:-0}" = 1 ] && RK_KEEP=1
  local pid
  for pid in "${RK_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${RK_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  # Under the sanitizer build, a report in any rookery log fails the test.
  if ! rk_sanitizer_check "$RK_TMP"/*/proxy.log "$RK_TMP"/*/seeder.log; then
    RK_KEEP=1
    rk_status=1
  fi
  if [ "${RK_KEEP:-0}" = 1 ]; then echo "kept $RK_TMP"; else rm -rf "$RK_TMP"; fi
  if [ "${rk_status:-0}" != 0 ]; then exit "$rk_status"; fi
}
trap rk_cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  # The last warnings of every rookery process: all a failure seen only in CI leaves behind.
  local log
  for log in "$RK_TMP"/*/proxy.log "$RK_TMP"/*/seeder.log; do
    [ -f "$log" ] || continue
    grep -E '\[(warning|error|critical)\]' "$log" | tail -n 5 | sed "s|^|  ${log#"$RK_TMP/"}: |" >&2 || true
  done
  exit 1
}
pass() { echo "ok: $*"; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }

# A TCP port nobody listens on right now.
# Below the kernel's ephemeral range (32768 and up here): a port the kernel hands out for
# port 0 is the kind every outgoing connection of the tests running beside this one takes too
# (likely what took a proxy's port before it bound it, "Address already in use", in one run).
# A random free port from 20000-32767 is taken by nobody but another free_port.
free_port() {
  python3 -c '
import random, socket
for _ in range(200):
    port = random.randint(20000, 32767)
    try:
        socket.socket().bind(("127.0.0.1", port))
    except OSError:
        continue
    print(port)
    break'
}

# wait_http URL [SECONDS]: until URL answers at all (any status), bounded.
wait_http() { rk_wait_until "${2:-20}" rk_http_up "$1" || fail "nothing answered at $1"; }

# start_registry NAME PORT [HTPASSWD_FILE]: Debian's docker-registry on loopback, data and
# access log under $RK_TMP/NAME. Sets REGISTRY_PID.
start_registry() {
  local name=$1 port=$2 htpasswd=${3:-}
  local dir=$RK_TMP/$name opts=(--http-secret rookery-test --delete)
  mkdir -p "$dir/data"
  if [ -n "$htpasswd" ]; then opts+=(--htpasswd rookery-test "$htpasswd"); fi
  if [ -n "${RK_NOTIFY_URL:-}" ]; then opts+=(--notify "$RK_NOTIFY_URL" "${RK_NOTIFY_SENT_SECRET-$RK_NOTIFY_SECRET}"); fi
  rk_registry_config "$dir/data" "127.0.0.1:$port" "${opts[@]}" > "$dir/config.yml"
  docker-registry serve "$dir/config.yml" > "$dir/registry.log" 2>&1 &
  REGISTRY_PID=$!
  RK_PIDS+=("$REGISTRY_PID")
  wait_http "http://127.0.0.1:$port/v2/"
}

# registry_blob_gets NAME DIGEST: how many GETs of that blob the registry served.
registry_blob_gets() {
  grep -c "\"GET /v2/[^ ]*/blobs/$2 HTTP" "$RK_TMP/$1/registry.log" || true
}

# start_seeder NAME PORT REGISTRY_PORT ARGS...: rookery-seeder, store under $RK_TMP/NAME, a free
# BitTorrent port. Sets SEEDER_PID.
start_seeder() {
  local name=$1 port=$2 registry_port=$3
  shift 3
  mkdir -p "$RK_TMP/$name"
  "$ROOKERY_BUILD/seeder/rookery-seeder" --listen "127.0.0.1:$port" --registry "http://127.0.0.1:$registry_port" \
    --store "$RK_TMP/$name/store" --bt-listen "127.0.0.1:$(free_port)" --announce-interval 5 \
    --notify-secret-file "$RK_TMP/notify-secret" --operator-token-file "$RK_TMP/operator-token" "$@" \
    > "$RK_TMP/$name/seeder.log" 2>&1 &
  SEEDER_PID=$!
  RK_PIDS+=("$SEEDER_PID")
  wait_http "http://127.0.0.1:$port/healthz"
}

# stop_pid PID: stops a process started here and waits for it to end.
stop_pid() { kill "$1"; wait "$1" 2>/dev/null || true; }

# wait_until SECONDS COMMAND...: until COMMAND succeeds, bounded (1 on timeout).
wait_until() { rk_wait_until "$@"; }

# start_proxy NAME PORT ARGS...: rookery-proxy with its store under $RK_TMP/NAME. Sets PROXY_PID.
start_proxy() {
  local name=$1 port=$2
  shift 2
  mkdir -p "$RK_TMP/$name"
  "$ROOKERY_BUILD/registry-proxy/rookery-proxy" --listen "127.0.0.1:$port" \
    --store "$RK_TMP/$name/store" --connect-timeout-ms 500 --response-timeout-ms 3000 "$@" \
    > "$RK_TMP/$name/proxy.log" 2>&1 &
  PROXY_PID=$!
  RK_PIDS+=("$PROXY_PID")
  wait_http "http://127.0.0.1:$port/healthz"
}

# make_image DIR TAG LAYERS BYTES_PER_LAYER: scripts/make-image, then its digests as
# LAYER_DIGESTS (array), CONFIG_DIGEST and MANIFEST_DIGEST.
make_image() {
  "$(dirname "${BASH_SOURCE[0]}")/../../scripts/make-image" "$@" >/dev/null
  # shellcheck disable=SC1091
  source "$1/digests.env"
}

# push_image LAYOUT TAG DEST [CREDS]: skopeo copy from an OCI layout to a registry reference.
push_image() {
  local creds=()
  [ -n "${4:-}" ] && creds=(--dest-creds "$4")
  skopeo copy -q --dest-tls-verify=false "${creds[@]}" "oci:$1:$2" "docker://$3" >/dev/null
}

# digests_in_dir DIR: the blob digests in a skopeo dir: copy, sorted.
digests_in_dir() { rk_dir_digests "$1"; }

# image_digests: the blob digests of the last make_image (its layers and config), sorted.
image_digests() { printf '%s\n' "${LAYER_DIGESTS[@]}" "$CONFIG_DIGEST" | sort; }

# start_containerd NAME [EXTRA_TOML]: a private containerd (own root, state and socket under
# $RK_TMP/NAME), beside any system one; EXTRA_TOML goes at the end of its config.toml. Sets
# CTR_ADDRESS and CTR_CONFIG.
start_containerd() {
  local dir=$RK_TMP/$1
  mkdir -p "$dir"
  CTR_ADDRESS=$dir/containerd.sock
  cat > "$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTR_ADDRESS"
[ttrpc]
  address = "$CTR_ADDRESS.ttrpc"
[debug]
  address = "$dir/debug.sock"
[metrics]
  address = ""
${2:-}
TOML
  CTR_CONFIG=$dir/config.toml
  containerd --config "$dir/config.toml" > "$dir/containerd.log" 2>&1 &
  RK_PIDS+=("$!")
  rk_wait_until 20 ctr_up || fail "containerd did not start: $(tail -5 "$dir/containerd.log")"
}

# ctr_up: whether the containerd at CTR_ADDRESS answers.
ctr_up() { ctr --address "$CTR_ADDRESS" version >/dev/null 2>&1; }

# start_fake_upstream NAME PORT MODE: tests/integration/fake_upstream.py (a misbehaving registry).
start_fake_upstream() {
  mkdir -p "$RK_TMP/$1"
  python3 "$(dirname "${BASH_SOURCE[0]}")/fake_upstream.py" "$2" "$3" > "$RK_TMP/$1/fake.log" 2>&1 &
  RK_PIDS+=("$!")
  rk_wait_until 10 rk_tcp_open 127.0.0.1 "$2" || fail "fake upstream did not start"
}

# oci_code URL [CURL ARGS]: "STATUS CODE" of an error response, e.g. "400 NAME_INVALID".
oci_code() {
  local url=$1
  shift
  local body
  body=$(curl -s --path-as-is -w '\n%{http_code}' "$@" "$url")
  echo "$(tail -n1 <<<"$body") $(head -n -1 <<<"$body" | jq -r '.errors[0].code' 2>/dev/null)"
}

# metric URL NAME: the value of one Prometheus sample (0 when absent).
metric() { rk_metric "$@"; }

# start_swarm_proxy NAME PORT REGISTRY_PORT SEEDER_PORT ARGS...: a proxy in the swarm.
start_swarm_proxy() {
  local name=$1 port=$2 rport=$3 sport=$4
  shift 4
  start_proxy "$name" "$port" --upstream "http://127.0.0.1:$rport" --seeder "http://127.0.0.1:$sport" \
    --bt-listen "127.0.0.1:$(free_port)" --swarm-stall-ms 3000 "$@"
}

# seeded_count SEEDER_PORT: how many blobs the seeder seeds.
seeded_count() { metric "http://127.0.0.1:$1" rookery_seeder_seeded_blobs; }

# wait_seeded SEEDER_PORT COUNT [SECONDS]: until the seeder seeds at least COUNT blobs.
wait_seeded() {
  rk_wait_seeded "http://127.0.0.1:$1" "$2" "${3:-30}" || fail "the seeder seeds $(seeded_count "$1") blobs, not $2"
}

# operator_curl ARGS...: curl with the operator token.
operator_curl() { curl -s -H "Authorization: Bearer $RK_OPERATOR_TOKEN" "$@"; }

# torrent_count PROXY_PORT: torrents in a proxy's swarm session.
torrent_count() { curl -s "http://127.0.0.1:$1/v1/status" | jq '.swarm.torrent_count'; }

# push_blob PORT REPO FILE: monolithic upload of one blob; prints its digest.
push_blob() {
  local digest location
  digest=$(rk_file_digest "$3")
  location=$(curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$1/v2/$2/blobs/uploads/" | tr -d '\r' | awk -F': ' 'tolower($1)=="location" {print $2}')
  case $location in http*) ;; *) location=http://127.0.0.1:$1$location ;; esac
  case $location in *\?*) location="$location&digest=$digest" ;; *) location="$location?digest=$digest" ;; esac
  curl -sf -H 'Content-Type: application/octet-stream' -T "$3" "$location" >/dev/null \
    || fail "upload of $3 failed"
  echo "$digest"
}

# push_manifest PORT REPO TAG CONFIG_DIGEST CONFIG_SIZE LAYER_DIGEST LAYER_SIZE: an OCI manifest
# naming one layer; prints the manifest digest.
push_manifest() {
  local body
  body=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' "$4" "$5" "$6" "$7")
  curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "$body" \
    "http://127.0.0.1:$1/v2/$2/manifests/$3" >/dev/null || fail "manifest upload failed"
  printf '%s' "$body" | rk_file_digest
}

# podman_mirror REGISTRY PROXY_PORT: podman_ (below) reads a registries.conf that sends pulls of
# REGISTRY through the proxy on PROXY_PORT: examples/podman-registries.conf with those two
# addresses, and the registry marked insecure (the tests' registries speak plain HTTP).
podman_mirror() {
  sed -e "s/^location = \"registry.example.internal\"$/location = \"$1\"\ninsecure = true/" \
    -e "s/127.0.0.1:5050/127.0.0.1:$2/" "$RK_EXAMPLES/podman-registries.conf" > "$RK_TMP/registries.conf"
  grep -q "^location = \"$1\"" "$RK_TMP/registries.conf" && grep -q "127.0.0.1:$2" "$RK_TMP/registries.conf" \
    || fail "examples/podman-registries.conf no longer names the registry and the proxy it did"
}

# podman_ ARGS...: podman with a private vfs store under RK_TMP and podman_mirror's config.
podman_() {
  CONTAINERS_REGISTRIES_CONF=$RK_TMP/registries.conf podman --root "$RK_TMP/podman/root" \
    --runroot "$RK_TMP/podman/run" --storage-driver vfs --events-backend file \
    --cgroup-manager cgroupfs "$@"
}
