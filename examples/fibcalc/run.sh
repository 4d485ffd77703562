#!/usr/bin/env bash
# The fibcalc cluster: starts NODES brood nodes running fibcalc_node.py (Python, one worker each,
# ephemeral loopback ports), computes n**4096 for n in [0, RANGE) on one node and then split over
# all of them (fibcalc_client.py), prints the speedup, and stops the nodes.
#   examples/fibcalc/run.sh BUILD_DIR [NODES] [RANGE]     (defaults: 2 nodes, 15000)
# Every node is stopped (SIGTERM, then waited for) on any exit, error or Ctrl-C.
set -euo pipefail

build=${1:?usage: run.sh BUILD_DIR [NODES] [RANGE]}
nodes=${2:-2}
range=${3:-15000}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
brood_bin=$build/cli/brood
python=${PYTHON:-/usr/bin/python3}
[[ -x $brood_bin ]] || { echo "run.sh: $brood_bin not built (run make build)" >&2; exit 2; }
[[ -d $build/python/brood ]] || { echo "run.sh: $build/python/brood not built" >&2; exit 2; }
export PYTHONPATH=$build/python${PYTHONPATH:+:$PYTHONPATH}

logs=$(mktemp -d "${TMPDIR:-/tmp}/brood-fibcalc.XXXXXX")
pids=()
stop_nodes() {
  local status=$? log
  if ((status != 0 && status != 130)); then
    for log in "$logs"/*.log; do
      [[ -s $log ]] && { echo "--- ${log##*/} (last lines)" >&2; tail -n 20 "$log" >&2; }
    done
  fi
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  rm -rf "$logs"
  exit "$status"
}
trap stop_nodes EXIT
trap 'exit 130' INT TERM

# The address a node bound, from its log line "uwsgi socket 0 bound to TCP address HOST:PORT fd F";
# waits at most 10 s for it.
bound_address() {
  local log=$1 pid=$2 line
  for _ in $(seq 100); do
    line=$(grep -m1 -o 'uwsgi socket 0 bound to TCP address [^ ]*' "$log" || true)
    if [[ -n $line ]]; then
      echo "${line##* }"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "run.sh: node $pid did not bind a socket; its log:" >&2
  cat "$log" >&2
  return 1
}

# Waits at most 10 s for a node to answer a ping.
wait_ready() {
  for _ in $(seq 50); do
    "$brood_bin" ping "$1" --timeout 1 >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "run.sh: node $1 does not answer ping" >&2
  return 1
}

for i in $(seq "$nodes"); do
  "$brood_bin" --socket 127.0.0.1:0 --module fibcalc_node --pythonpath "$here" \
    2>"$logs/node$i.log" >&2 &
  pids+=($!)
done
addresses=()
for i in $(seq "$nodes"); do
  addresses+=("$(bound_address "$logs/node$i.log" "${pids[i - 1]}")")
done
for a in "${addresses[@]}"; do wait_ready "$a"; done
echo "nodes: ${addresses[*]}"

"$python" "$here/fibcalc_client.py" --range "$range" "${addresses[@]}"
