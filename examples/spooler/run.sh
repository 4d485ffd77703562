#!/usr/bin/env bash
# The centralized spooler cluster: starts a spooler node (spooler_node.py runs the tasks, two
# spooler processes on a spool dir) and two web nodes (web_node.py, WSGI apps that enqueue their
# tasks onto the spooler node over the network with send_uwsgi_message(..., 17, ...)), asks the
# web nodes to queue TASKS jobs (enqueue.py), prints the result line each task wrote on the
# spooler node, and stops the nodes.
#   examples/spooler/run.sh BUILD_DIR [TASKS]     (default 6 tasks)
# Every node is stopped (SIGTERM, then waited for) on any exit, error or Ctrl-C.
set -euo pipefail

build=${1:?usage: run.sh BUILD_DIR [TASKS]}
tasks=${2:-6}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
brood_bin=$build/cli/brood
python=${PYTHON:-/usr/bin/python3}
[[ -x $brood_bin ]] || { echo "run.sh: $brood_bin not built (run make build)" >&2; exit 2; }
[[ -d $build/python/brood ]] || { echo "run.sh: $build/python/brood not built" >&2; exit 2; }
export PYTHONPATH=$build/python${PYTHONPATH:+:$PYTHONPATH}
# shellcheck source=../cluster.sh
source "$here/../cluster.sh"
cluster_init spooler
results=$logs/results.txt

start_node spooler.log env SPOOLER_RESULTS="$results" "$brood_bin" --socket 127.0.0.1:0 \
  --spooler "$logs/spool" --spooler-processes 2 --module spooler_node --pythonpath "$here"
spooler=$(bound_address spooler.log "$(last_pid)")
wait_ready "$spooler"

webs=()
for i in 1 2; do
  start_node "web$i.log" env SPOOLER_NODE="$spooler" WEB_NAME="web$i" "$brood_bin" \
    --socket 127.0.0.1:0 --module web_node --pythonpath "$here"
  webs+=("$(bound_address "web$i.log" "$(last_pid)")")
  wait_ready "${webs[-1]}"
done
echo "spooler node: $spooler, web nodes: ${webs[*]}"

"$python" "$here/enqueue.py" --tasks "$tasks" --results "$results" "${webs[@]}"
