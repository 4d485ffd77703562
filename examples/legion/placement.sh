#!/usr/bin/env bash
# emperor = legion:NAME,DIR (docs/legion.md "Placement"): three emperors, members of one legion
# on loopback ports, share one directory of 12 brood vassals. The lord spreads them 4/4/4; one
# emperor is SIGKILLed (its vassals die with it) and its 4 vassals start on the other two; it
# comes back and the spread returns to 4/4/4. Prints each emperor's ready vassals at each step.
#   examples/legion/placement.sh BUILD_DIR
set -euo pipefail

build=${1:?usage: placement.sh BUILD_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../cluster.sh
source "$here/../cluster.sh"
use_build "$build"
cluster_init placement

mkdir -p "$logs/vassals"
for i in $(seq 0 11); do
  printf '[uwsgi]\nsocket = 127.0.0.1:0\nprocesses = 1\n' >"$logs/vassals/app$i.ini"
done
read -r -a ports < <("$python" -c '
import socket
ss = [socket.socket() for _ in range(6)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
declare -A pid_of

start_emperor() {
  local i=$1 args
  args=(--emperor "legion:apps,$logs/vassals" --emperor-stats "127.0.0.1:${ports[$((i + 3))]}"
    --legion "apps 127.0.0.1:${ports[$i]} $((i + 1)) s3cr3t" --legion-vassal-lease 1500)
  for j in 0 1 2; do args+=(--legion-node "apps 127.0.0.1:${ports[$j]}"); done
  start_node "emperor$i.log" "$brood_bin" "${args[@]}"
  pid_of[$i]=$(last_pid)
}

# "N1/N2/N3" ready vassals per emperor ("-" for one that is down).
spread() {
  local i out=() n
  for i in 0 1 2; do
    n=$("$python" - "${ports[$((i + 3))]}" <<'PY' 2>/dev/null || echo -
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
data = b""
while chunk := s.recv(65536):
    data += chunk
d = json.loads(data)
print(sum(1 for v in d["vassals"] if v["ready"] == 1 and v["pid"] > 0))
PY
)
    out+=("$n")
  done
  local IFS=/
  echo "${out[*]}"
}

wait_spread() {
  local want=$1 t0 now
  t0=$(date +%s%3N)
  for _ in $(seq 600); do
    if [[ $(spread) == "$want" ]]; then
      now=$(date +%s%3N)
      echo "  spread $want after $((now - t0)) ms"
      return 0
    fi
    sleep 0.1
  done
  echo "  spread $(spread), not $want, after 60 s" >&2
  return 1
}

echo "three emperors start on 12 shared vassal files"
for i in 0 1 2; do start_emperor "$i"; done
wait_spread 4/4/4
echo "emperor 0 is SIGKILLed"
kill -KILL "${pid_of[0]}"
wait_spread -/6/6
echo "emperor 0 comes back"
start_emperor 0
wait_spread 4/4/4
"$brood_bin" legion "127.0.0.1:${ports[1]}" --legion apps --secret s3cr3t --vassals
