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
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../cluster.sh
source "$here/../cluster.sh"
cluster_init demo

for i in $(seq "$nodes"); do
  start_node "node$i.log" "$node_bin" --master --processes 1 --socket 127.0.0.1:0
done
addresses=()
for i in $(seq "$nodes"); do
  addresses+=("$(bound_address "node$i.log" "${pids[i - 1]}")")
done
for a in "${addresses[@]}"; do wait_ready "$a"; done
echo "nodes: ${addresses[*]}"

"$demo_bin" --range "$range" "${addresses[@]}"
