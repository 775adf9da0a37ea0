# A cluster on one machine, in network namespaces. Source it (as root).
#
#   rk-tb-sw       a bridge, nothing else
#   rk-tb-origin   198.18.0.1  the registry side (docker-registry + rookery-seeder, or a baseline)
#   rk-tb-hI       198.18.1.I  host I (a rookery-proxy, or a baseline peer), I = 1..N
#
# Each node hangs off the bridge by a veth pair; both directions of every link are shaped with
# tc (token bucket at TB_RATE, plus netem delay/loss when TB_DELAY/TB_LOSS are set). Addresses
# come from 198.18.0.0/15 (reserved for benchmarks) and no namespace has a route out.
#
# tb_net_up creates it and arms a trap that tears it down on exit, failure or Ctrl-C; it refuses
# to start over a leftover of itself (tb_clean, or `tests/testbed/testbed clean`, removes one).
# Every wait here is bounded. Logs go to TB_LOGS, one folder per node.
set -euo pipefail

TB_PREFIX=rk-tb
TB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$TB_ROOT/scripts/lib/common.sh"
ROOKERY_BUILD=${ROOKERY_BUILD:-$TB_ROOT/build}
TB_RATE=${TB_RATE:-10mbit}
TB_DELAY=${TB_DELAY:-}
TB_LOSS=${TB_LOSS:-}
TB_ORIGIN_IP=198.18.0.1
TB_REGISTRY=$TB_ORIGIN_IP:5000
TB_SEEDER=$TB_ORIGIN_IP:8000
TB_HOSTS=0
TB_CPU_PID=

tb_die() { echo "testbed: $*" >&2; exit 1; }
tb_ns() { echo "$TB_PREFIX-$1"; }
tb_host_ip() { echo "198.18.1.$1"; }
# tb_exec NODE CMD...: run CMD inside NODE's namespace (origin, sw, h1...).
tb_exec() { local node=$1; shift; ip netns exec "$(tb_ns "$node")" "$@"; }

tb_leftovers() { ip netns list 2>/dev/null | awk '{print $1}' | grep "^$TB_PREFIX-" || true; }

# tb_clean: stop every process in the testbed's namespaces, then delete them.
tb_clean() {
  local ns pids deadline
  [ -n "$TB_CPU_PID" ] && kill "$TB_CPU_PID" 2>/dev/null || true
  for ns in $(tb_leftovers); do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -n "$pids" ] && kill $pids 2>/dev/null || true
  done
  deadline=$((SECONDS + 10))
  for ns in $(tb_leftovers); do
    while [ -n "$(ip netns pids "$ns" 2>/dev/null)" ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  if [ -n "${TB_CC_ALLOWED:-}" ]; then
    sysctl -qw net.ipv4.tcp_allowed_congestion_control="$TB_CC_ALLOWED" || true
    TB_CC_ALLOWED=
  fi
}

# tb_shape NODE DEV: token bucket at TB_RATE on DEV's egress, behind netem when delay or loss is
# asked for. The burst is one 10 ms worth of bytes (at least 16 KiB, so a full packet always fits).
tb_shape() {
  local ns bits burst parent=root
  ns=$(tb_ns "$1")
  bits=$(tb_rate_bits "$TB_RATE")
  burst=$((bits / 800))
  [ "$burst" -ge 16384 ] || burst=16384
  if [ -n "$TB_DELAY$TB_LOSS" ]; then
    tc -n "$ns" qdisc add dev "$2" root handle 1: netem ${TB_DELAY:+delay $TB_DELAY} ${TB_LOSS:+loss $TB_LOSS} limit 10000
    parent="parent 1:1"
  fi
  tc -n "$ns" qdisc add dev "$2" $parent handle 10: tbf rate "$TB_RATE" burst "$burst" latency "${TB_QUEUE:-50ms}"
}

# tb_rate_bits RATE: tc rate (e.g. 10mbit, 500kbit) in bits per second.
tb_rate_bits() {
  local r=${1,,}
  case $r in
    *gbit) echo $((${r%gbit} * 1000000000)) ;;
    *mbit) echo $((${r%mbit} * 1000000)) ;;
    *kbit) echo $((${r%kbit} * 1000)) ;;
    *bit) echo "${r%bit}" ;;
    *) tb_die "rate '$1': use NUMBER followed by gbit, mbit or kbit" ;;
  esac
}

# tb_has_netem: whether this kernel can add delay and loss (sch_netem); some container hosts
# lack it.
tb_has_netem() {
  local ns=$TB_PREFIX-probe ok=1
  ip netns add "$ns" || return 1
  tc -n "$ns" qdisc add dev lo root netem delay 1ms 2>/dev/null || ok=0
  ip netns del "$ns"
  [ "$ok" = 1 ]
}

tb_add_node() {
  local node=$1 ip=$2 ns
  ns=$(tb_ns "$node")
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  # A new namespace inherits the machine's congestion control; BBR (common on build hosts)
  # ignores the shaper's drops and loses 40 % of its packets there. Hosts run Linux's default.
  ip netns exec "$ns" sysctl -qw net.ipv4.tcp_congestion_control=cubic
  ip -n "$(tb_ns sw)" link add "v-$node" type veth peer name eth0 netns "$ns"
  ip -n "$(tb_ns sw)" link set "v-$node" master br0 up
  ip -n "$ns" addr add "$ip/16" dev eth0
  ip -n "$ns" link set eth0 up
  tb_shape "$node" eth0   # the node's upload
  tb_shape sw "v-$node"   # the node's download
  mkdir -p "$TB_LOGS/$node"
}

# tb_net_up N: the bridge, the origin and N hosts, shaped; logs under TB_LOGS (made if unset).
tb_net_up() {
  [ "$(id -u)" = 0 ] || tb_die "needs root (network namespaces, tc)"
  local left
  left=$(tb_leftovers)
  [ -z "$left" ] || tb_die "a previous testbed is still there ($(echo $left)); remove it with tests/testbed/testbed clean"
  [ "$1" -ge 1 ] && [ "$1" -le 250 ] || tb_die "hosts: 1..250"
  TB_HOSTS=$1
  if [ -n "$TB_DELAY$TB_LOSS" ] && ! tb_has_netem; then
    tb_die "this kernel has no netem qdisc: --delay and --loss cannot be emulated here"
  fi
  TB_LOGS=${TB_LOGS:-$(mktemp -d /tmp/rookery-testbed.XXXXXX)}
  trap 'tb_status=$?; tb_clean; exit $tb_status' EXIT
  trap 'exit 130' INT TERM
  # Namespaces may only default to congestion controls the machine allows; allow cubic for the
  # run (tb_clean puts the list back).
  TB_CC_ALLOWED=$(sysctl -n net.ipv4.tcp_allowed_congestion_control)
  case " $TB_CC_ALLOWED " in
    *" cubic "*) TB_CC_ALLOWED= ;;
    *) sysctl -qw net.ipv4.tcp_allowed_congestion_control="$TB_CC_ALLOWED cubic" ;;
  esac
  ip netns add "$(tb_ns sw)"
  ip -n "$(tb_ns sw)" link set lo up
  ip -n "$(tb_ns sw)" link add br0 type bridge
  ip -n "$(tb_ns sw)" link set br0 up
  tb_add_node origin "$TB_ORIGIN_IP"
  local i
  for ((i = 1; i <= TB_HOSTS; i++)); do tb_add_node "h$i" "$(tb_host_ip "$i")"; done
}

# tb_spawn NODE LOG CMD...: CMD in the background inside NODE, output to TB_LOGS/NODE/LOG.
tb_spawn() {
  local node=$1 log=$2
  shift 2
  tb_exec "$node" "$@" > "$TB_LOGS/$node/$log" 2>&1 &
}

# tb_wait_tcp NODE HOST:PORT [SECONDS]: until something listens there (seen from NODE).
tb_wait_tcp() {
  RK_NETNS=$(tb_ns "$1") rk_wait_until "${3:-20}" rk_tcp_open "${2%:*}" "${2#*:}" \
    || tb_die "nothing listens on $2 in $1 (logs: $TB_LOGS/$1)"
}

# tb_secrets: the notification secret, operator token and (unless TB_FLEET=0) a fleet CA with
# a certificate for the seeder and every host, under $TB_LOGS/secrets.
tb_secrets() {
  local dir=$TB_LOGS/secrets i nodes=(origin)
  [ -e "$dir/notify-secret" ] && return 0
  rk_make_secrets "$dir"
  [ "${TB_FLEET:-1}" = 1 ] || return 0
  for ((i = 1; i <= TB_HOSTS; i++)); do nodes+=("h$i"); done
  rk_fleet_ca "$dir/ca" "$dir/hosts" "${nodes[@]}"
}

# tb_fleet_args NODE: the fleet flags for NODE's rookery process (none when TB_FLEET=0).
tb_fleet_args() {
  local dir=$TB_LOGS/secrets
  [ -e "$dir/ca/ca.pem" ] || return 0
  rk_fleet_args "$dir/ca" "$dir/hosts" "$1" 198.18.0.0/15
}

# tb_start_registry [NOTIFY_URL]: docker-registry in the origin on port 5000.
tb_start_registry() {
  local dir=$TB_LOGS/origin opts=(--http-secret rookery-testbed)
  tb_secrets
  if [ -n "${1:-}" ]; then opts+=(--notify "$1" "$(cat "$TB_LOGS/secrets/notify-secret")"); fi
  rk_registry_config "$dir/registry-data" 0.0.0.0:5000 "${opts[@]}" > "$dir/registry.yml"
  tb_spawn origin registry.log docker-registry serve "$dir/registry.yml"
  tb_wait_tcp origin 127.0.0.1:5000
}

# tb_start_seeder ARGS...: rookery-seeder in the origin (port 8000, BitTorrent on 6881), told
# about pushes by the registry.
tb_start_seeder() {
  tb_secrets
  tb_spawn origin seeder.log "$ROOKERY_BUILD/seeder/rookery-seeder" --listen 0.0.0.0:8000 \
    --registry http://127.0.0.1:5000 --store "$TB_LOGS/origin/seeder-store" \
    --public-url "http://$TB_SEEDER" --bt-listen "$TB_ORIGIN_IP:6881" \
    --notify-secret-file "$TB_LOGS/secrets/notify-secret" \
    --operator-token-file "$TB_LOGS/secrets/operator-token" $(tb_fleet_args origin) "$@"
  tb_wait_tcp origin 127.0.0.1:8000
}

# tb_start_proxy I ARGS...: a rookery-proxy on 127.0.0.1:5000 in host I, the origin's registry
# upstream and its seeder (not waited for).
tb_start_proxy() {
  local i=$1
  shift
  tb_spawn "h$i" proxy.log "$ROOKERY_BUILD/registry-proxy/rookery-proxy" --listen 127.0.0.1:5000 \
    --store "$TB_LOGS/h$i/store" --upstream "http://$TB_REGISTRY" --seeder "http://$TB_SEEDER" \
    --bt-listen "$(tb_host_ip "$i"):6881" $(tb_fleet_args "h$i") "$@"
}

# tb_start_proxies ARGS...: tb_start_proxy in every host, then waits until all of them listen.
tb_start_proxies() {
  local i
  for ((i = 1; i <= TB_HOSTS; i++)); do tb_start_proxy "$i" "$@"; done
  for ((i = 1; i <= TB_HOSTS; i++)); do tb_wait_tcp "h$i" 127.0.0.1:5000; done
}

# tb_pids NODE COMMAND: the pids of COMMAND (its process name) running in NODE.
tb_pids() {
  local pid
  for pid in $(ip netns pids "$(tb_ns "$1")" 2>/dev/null); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && echo "$pid"
  done
  return 0
}

# tb_seeded_count: how many blobs the seeder seeds.
tb_seeded_count() { RK_NETNS=$(tb_ns origin) rk_metric http://127.0.0.1:8000 rookery_seeder_seeded_blobs; }

# tb_wait_seeded COUNT [SECONDS]: until the seeder seeds at least COUNT blobs.
tb_wait_seeded() {
  RK_NETNS=$(tb_ns origin) rk_wait_seeded http://127.0.0.1:8000 "$1" "${2:-60}" \
    || tb_die "the seeder seeds $(tb_seeded_count) blobs, not $1 (see $TB_LOGS/origin)"
}

# tb_tx_bytes NODE: bytes NODE has sent on its link (interface counter, headers included).
tb_tx_bytes() { tb_exec "$1" cat /sys/class/net/eth0/statistics/tx_bytes; }

# tb_cpu_start: once a second (bounded to an hour), sample machine-wide CPU idle into
# TB_LOGS/cpu-idle and the links into TB_LOGS/links: "SECONDS ORIGIN_SENT HOSTS_RECEIVED", the
# time since the start and the bytes so far on the bridge's side of the origin's link and summed
# over every host's link.
# tb_cpu_stop prints "AVERAGE MINIMUM" idle percent over the samples.
tb_cpu_start() {
  : > "$TB_LOGS/cpu-idle"
  : > "$TB_LOGS/links"
  tb_exec sw /usr/bin/python3 "$TB_ROOT/tests/testbed/sampler.py" "$TB_LOGS/cpu-idle" "$TB_LOGS/links" &
  TB_CPU_PID=$!
}
# tb_cpu_by_kind: CPU seconds (user + system) each kind of process in the testbed's namespaces
# has used so far, as "KIND SECONDS" lines; KIND is the command name (rookery-proxy, python3..).
tb_cpu_by_kind() {
  local ns pid
  for ns in $(tb_leftovers); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      # /proc/PID/stat: "PID (COMM) STATE ..."; utime and stime are fields 14 and 15.
      sed -E 's/^[0-9]+ \(([^)]*)\) /\1 /' "/proc/$pid/stat" 2>/dev/null || true
    done
  done | awk -v hz="$(getconf CLK_TCK)" '{cpu[$1] += ($13 + $14) / hz} END {for (k in cpu) printf "%s %.2f\n", k, cpu[k]}'
}
tb_cpu_stop() {
  kill "$TB_CPU_PID" 2>/dev/null || true
  wait "$TB_CPU_PID" 2>/dev/null || true
  TB_CPU_PID=
  awk '{s += $1; if (NR == 1 || $1 < m) m = $1} END {if (NR) printf "%d %d\n", s / NR, m; else print "100 100"}' "$TB_LOGS/cpu-idle"
}
