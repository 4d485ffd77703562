#!/usr/bin/env bash
# Broodlord: auto-scaling with zergs, the first example of uWSGI's Broodlord.rst as written (with
# app.py in place of werkzeug's test app, the zerg server in this demo's temp dir, a free port
# for the seed's 3031 and idle = 3 instead of 30, so that the demo ends in ~20 s). One vassal
# file holds two stanzas: [uwsgi] runs one worker and asks its emperor for reinforcements while
# its listen queue holds 10 connections or more (vassal-sos-backlog); the emperor
# (--emperor-broodlord 40) answers each SOS with a zerg, `brood --ini app.ini:zerg`, which
# attaches to the vassal's socket through its zerg server, serves, and leaves after 3 s without a
# request (die-on-idle). load.py puts 16 clients on the vassal for 6 s and prints the zergs
# appearing under the load and leaving after it, from the emperor's stats; then everything stops.
#   examples/broodlord/run.sh BUILD_DIR
set -euo pipefail

build=${1:?usage: run.sh BUILD_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../cluster.sh
source "$here/../cluster.sh"
use_build "$build"
cluster_init broodlord
export PYTHONPATH=$here:$PYTHONPATH  # the vassal and its zergs import app.py
vassals=$logs/vassals
mkdir "$vassals"

# The seed's port, 3031, if it is free, else the next free one below the ephemeral range.
port=$("$python" - <<'PY'
import socket
with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
    low = int(f.read().split()[0])
for port in range(3031, low):
    with socket.socket() as s:
        try:
            s.bind(("", port))
        except OSError:
            continue
        print(port)
        break
PY
)
[[ -n $port ]] || { echo "broodlord: no free port below the ephemeral range" >&2; exit 1; }

cat >"$vassals/app.ini" <<EOF
[uwsgi]
socket = :$port
master = true
vassal-sos-backlog = 10
module = app:application
processes = 1
zerg-server = $logs/broodlord.sock
disable-logging = true

[zerg]
zerg = $logs/broodlord.sock
master = true
module = app:application
processes = 1
disable-logging = true
idle = 3
die-on-idle = true
EOF

start_node emperor.log "$brood_bin" --emperor "$vassals" --emperor-broodlord 40 \
  --emperor-stats "$logs/stats.sock"
emperor=$(last_pid)
# Bounded: the vassal answers within 10 s, or the demo stops with the reason.
for _ in $(seq 100); do
  if ! kill -0 "$emperor" 2>/dev/null; then
    echo "broodlord: the emperor exited at start: $(grep -m1 . "$logs/emperor.log")" >&2
    exit 1
  fi
  "$brood_bin" ping "127.0.0.1:$port" --timeout 1 >/dev/null 2>&1 && break
  sleep 0.1
done
if ! "$brood_bin" ping "127.0.0.1:$port" --timeout 1 >/dev/null 2>&1; then
  echo "broodlord: the vassal does not answer on port $port after 10 s: $(
    grep -m1 -i 'unknown option\|error' "$logs/emperor.log" || echo "see the emperor's log")" >&2
  exit 1
fi
echo "broodlord: emperor pid $emperor (emperor-broodlord 40), vassal app.ini answers on port" \
  "$port with 1 worker (vassal-sos-backlog 10, zerg-server $logs/broodlord.sock)"

"$python" "$here/load.py" "127.0.0.1:$port" "$logs/stats.sock" --clients 16 --seconds 6 --idle 3
echo "broodlord: stopping the emperor and its vassal"
