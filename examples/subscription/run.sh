#!/usr/bin/env bash
# Subscription: the second example of uWSGI's Broodlord.rst (its "subscription system" variant)
# on brood alone. A router (`brood --fastrouter`) takes requests and subscriptions; the vassal
# binds 127.0.0.1:0 and announces the port it got to the router with `subscribe2 = server=...,
# key=foobar.it`; its [zerg] stanza does the same, so reinforcements need no zerg server: each zerg
# binds a port of its own, subscribes, takes its share of the router's requests and, after
# `idle` seconds without one, leaves and unsubscribes. As in the seed but for: app.py of the
# broodlord demo in place of app.pl, 1 process (the seed's 4 would not be overloaded by this
# load on 2 vCPUs), idle = 3 instead of 60 with die-on-idle (so the demo ends in ~25 s), and the
# seed's port 4040 for the subscriptions only when it is free. load.py (the broodlord demo's)
# sends 16 clients' requests for Host foobar.it to the router and prints the zergs coming and
# going from the emperor's stats.
#   examples/subscription/run.sh BUILD_DIR
set -euo pipefail

build=${1:?usage: run.sh BUILD_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../cluster.sh
source "$here/../cluster.sh"
use_build "$build"
cluster_init subscription
export PYTHONPATH=$here/../broodlord:$PYTHONPATH  # the vassal and its zergs import app.py
vassals=$logs/vassals
mkdir "$vassals"

# Two free ports below the ephemeral range: the router's requests (TCP) and its subscriptions
# (UDP, the seed's 4040 when free).
read -r router_port sub_port < <("$python" - <<'PY'
import socket
with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
    low = int(f.read().split()[0])
def free(kind, start):
    for port in range(start, low):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
tcp = free(socket.SOCK_STREAM, 3031)
udp = free(socket.SOCK_DGRAM, 4040)
print(tcp, udp)
PY
)
[[ -n $router_port && -n $sub_port ]] || { echo "subscription: no free ports" >&2; exit 1; }

cat >"$vassals/app.ini" <<EOF
[uwsgi]
socket = 127.0.0.1:0
subscribe2 = server=127.0.0.1:$sub_port,key=foobar.it
module = app:application
master = true
processes = 1
vassal-sos = 3
disable-logging = true

[zerg]
socket = 127.0.0.1:0
subscribe2 = server=127.0.0.1:$sub_port,key=foobar.it
module = app:application
master = true
idle = 3
die-on-idle = true
processes = 1
disable-logging = true
EOF

start_node router.log "$brood_bin" --fastrouter "127.0.0.1:$router_port" \
  --fastrouter-subscription-server "127.0.0.1:$sub_port"
start_node emperor.log "$brood_bin" --emperor "$vassals" --emperor-broodlord 40 \
  --emperor-stats "$logs/stats.sock"
emperor=$(last_pid)

# Bounded: the router routes foobar.it to the vassal within 10 s (once its subscription came).
routed() {
  "$python" -c '
import sys
sys.path.insert(0, sys.argv[2])
import uwsgi_get
status, _ = uwsgi_get.get(sys.argv[1], "/", 2, "foobar.it")
sys.exit(0 if status.split()[1:2] == ["200"] else 1)' "127.0.0.1:$router_port" "$here/.." \
    >/dev/null 2>&1
}
for _ in $(seq 100); do
  kill -0 "$emperor" 2>/dev/null || { echo "subscription: the emperor exited at start" >&2; exit 1; }
  routed && break
  sleep 0.1
done
routed || { echo "subscription: the router routes nothing for foobar.it after 10 s" >&2; exit 1; }
echo "subscription: router on 127.0.0.1:$router_port (subscriptions on udp 127.0.0.1:$sub_port)," \
  "vassal app.ini subscribed as foobar.it with 1 worker (vassal-sos 3), emperor-broodlord 40"

"$python" "$here/../broodlord/load.py" "127.0.0.1:$router_port" "$logs/stats.sock" \
  --host foobar.it --clients 16 --seconds 9 --idle 3
echo "subscription: stopping the emperor, its vassal and the router"
