#!/usr/bin/env bash
# The demo cluster: starts three primes_node processes on loopback (ephemeral ports), scatters one
# prime-counting job over them with primes_demo, then stops the nodes.
#   examples/primes/demo.sh BUILD_DIR [RANGE]
# Every node is stopped (SIGTERM, then waited for) on any exit, error or Ctrl-C.
set -euo pipefail

build=${1:?usage: demo.sh BUILD_DIR [RANGE]}
range=${2:-16000000}
node_bin=$build/examples/primes/primes_node
demo_bin=$build/examples/primes/primes_demo
brood_bin=$build/cli/brood
nodes=3
for bin in "$node_bin" "$demo_bin" "$brood_bin"; do
  [[ -x $bin ]] || { echo "demo.sh: $bin not built (run make build)" >&2; exit 2; }
done

logs=$(mktemp -d "${TMPDIR:-/tmp}/brood-demo.XXXXXX")
pids=()
stop_nodes() {
  local status=$?
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  rm -rf "$logs"
  exit "$status"
}
trap stop_nodes EXIT
trap 'exit 130' INT TERM

# The port a node bound, from its log line "uwsgi socket 0 bound to TCP address HOST:PORT fd F";
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
  echo "demo.sh: node $pid did not bind a socket; its log:" >&2
  cat "$log" >&2
  return 1
}

# Waits at most 10 s for a node to answer a ping.
wait_ready() {
  for _ in $(seq 50); do
    "$brood_bin" ping "$1" --timeout 1 >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "demo.sh: node $1 does not answer ping" >&2
  return 1
}

for i in $(seq "$nodes"); do
  "$node_bin" --master --processes 1 --socket 127.0.0.1:0 2>"$logs/node$i.log" &
  pids+=($!)
done
addresses=()
for i in $(seq "$nodes"); do
  addresses+=("$(bound_address "$logs/node$i.log" "${pids[i - 1]}")")
done
for a in "${addresses[@]}"; do wait_ready "$a"; done
echo "nodes: ${addresses[*]}"

"$demo_bin" --range "$range" "${addresses[@]}"
