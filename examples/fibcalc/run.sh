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
# shellcheck source=../cluster.sh
source "$here/../cluster.sh"
use_build "$build"
cluster_init fibcalc

for i in $(seq "$nodes"); do
  start_node "node$i.log" "$brood_bin" --socket 127.0.0.1:0 --module fibcalc_node --pythonpath "$here"
done
addresses=()
for i in $(seq "$nodes"); do
  addresses+=("$(bound_address "node$i.log" "${pids[i - 1]}")")
done
for a in "${addresses[@]}"; do wait_ready "$a"; done
echo "nodes: ${addresses[*]}"

"$python" "$here/fibcalc_client.py" --range "$range" "${addresses[@]}"
