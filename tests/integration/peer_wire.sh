#!/usr/bin/env bash
# Only fleet hosts get bytes on the BitTorrent wire. The seeder and two proxies join with
# certificates from a fleet CA (SSL torrents) and allow only 127.0.0.1. Strangers holding a
# layer's metainfo (a leaked .torrent) get nothing from the seeder or a proxy: aria2c (plain
# BitTorrent), a libtorrent client without a certificate, one with a certificate from another
# CA, and a fleet client from a network outside --peer-allow. A stock libtorrent client with a
# fleet certificate (a fleet member that is not rookery) downloads the layer.
source "$(dirname "$0")/lib.sh"

rk_fleet_ca "$RK_TMP/ca" "$RK_TMP/hosts" seeder px1 px2 member outsider
rk_fleet_ca "$RK_TMP/rogue-ca" "$RK_TMP/hosts" rogue
fleet() { rk_fleet_args "$RK_TMP/ca" "$RK_TMP/hosts" "$1" 127.0.0.1/32; }

rp=$(free_port); sp=$(free_port); p1=$(free_port); p2=$(free_port)
RK_NOTIFY_URL=http://127.0.0.1:$sp/v1/notifications start_registry reg "$rp"
# shellcheck disable=SC2046
start_seeder seed "$sp" "$rp" $(fleet seeder)
make_image "$RK_TMP/img" v1 1 $((4 * 1024 * 1024))
push_image "$RK_TMP/img" v1 "127.0.0.1:$rp/fleet/app:v1"
wait_seeded "$sp" 2
layer=${LAYER_DIGESTS[0]}
# shellcheck disable=SC2046
start_swarm_proxy px1 "$p1" "$rp" "$sp" $(fleet px1)
# shellcheck disable=SC2046
start_swarm_proxy px2 "$p2" "$rp" "$sp" $(fleet px2)

# Two proxies pull the layer over the TLS wire; each then seeds it.
skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$p1/fleet/app:v1" "dir:$RK_TMP/pull1"
skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$p2/fleet/app:v1" "dir:$RK_TMP/pull2"
proxy_ports=("$p1" "$p2")
for i in 1 2; do
  p=${proxy_ports[i - 1]}
  expect_eq "$(digests_in_dir "$RK_TMP/pull$i")" "$(printf '%s\n' "$layer" "$CONFIG_DIGEST" | sort)" "layers pulled by px$i"
  [ "$(metric "http://127.0.0.1:$p" rookery_proxy_blob_bytes_from_peers_total)" -gt 0 ] || fail "proxy $p got no bytes from peers"
  [ "$(metric "http://127.0.0.1:$p" rookery_proxy_blob_bytes_from_upstream_total)" = 0 ] || fail "proxy $p fell back to the registry"
done
pass "fleet proxies pull through the swarm over TLS (nothing from the registry)"

# The leaked metainfo: what any host that once pulled the layer keeps on disk.
torrent=$RK_TMP/px1/store/swarm/torrents/${layer#sha256:}.torrent
[ -s "$torrent" ] || fail "px1 kept no metainfo for $layer"
peers=()
for port in "$(curl -s "http://127.0.0.1:$sp/v1/status" | jq .bt_port)" \
            "$(curl -s "http://127.0.0.1:$p1/v1/status" | jq .swarm.bt_port)" \
            "$(curl -s "http://127.0.0.1:$p2/v1/status" | jq .swarm.bt_port)"; do
  peers+=(--connect "127.0.0.1:$port")
done

# nonzero FILE: how many non-zero bytes a stranger's copy holds (random layers have plenty).
nonzero() { if [ -f "$1" ]; then tr -d '\0' < "$1" | wc -c; else echo 0; fi; }

aria_port=$(free_port)
timeout 30 aria2c -q --enable-dht=false --enable-dht6=false --bt-enable-lpd=false --enable-peer-exchange=false \
  --listen-port="$aria_port" --seed-time=0 --bt-stop-timeout=10 --dir="$RK_TMP/aria2" "$torrent" >/dev/null 2>&1 || true
expect_eq "$(nonzero "$RK_TMP/aria2/${layer#sha256:}")" 0 "bytes aria2c (plain BitTorrent, tracker peers) got"
pass "aria2c with the leaked metainfo: 0 bytes"

stranger() {  # stranger NAME ARGS...: a libtorrent client; prints its verified bytes
  /usr/bin/python3 "$(dirname "$0")/bt_peer.py" "$torrent" "$RK_TMP/$1" "$2" "${@:3}" "${peers[@]}" | tee "$RK_TMP/$1.json" | jq .bytes
}
expect_eq "$(stranger nocert 10)" 0 "bytes a libtorrent client without a certificate got"
expect_eq "$(stranger rogue 10 --cert "$RK_TMP/hosts/rogue.pem" --key "$RK_TMP/hosts/rogue.key")" 0 \
  "bytes a client with another CA's certificate got"
expect_eq "$(stranger outsider 10 --bind 127.0.0.2 --cert "$RK_TMP/hosts/outsider.pem" --key "$RK_TMP/hosts/outsider.key")" 0 \
  "bytes a fleet client from outside --peer-allow got"
pass "strangers with the metainfo: no certificate, a foreign CA, a network outside the allow-list: 0 bytes"

got=$(stranger member 30 --cert "$RK_TMP/hosts/member.pem" --key "$RK_TMP/hosts/member.key")
expect_eq "$got" "$(stat -c %s "$RK_TMP/img/blobs/sha256/${layer#sha256:}")" "bytes a stock libtorrent client with a fleet certificate got"
expect_eq "$(rk_file_digest "$RK_TMP/member/${layer#sha256:}")" "$layer" "the fleet client's copy"
pass "a stock libtorrent client with a fleet certificate downloads the layer ($got bytes)"
