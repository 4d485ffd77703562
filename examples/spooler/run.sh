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
# shellcheck source=../cluster.sh
source "$here/../cluster.sh"
use_build "$build"
cluster_init spooler
results=$logs/results.txt

start_ready spooler.log env SPOOLER_RESULTS="$results" "$brood_bin" --socket 127.0.0.1:0 \
  --spooler "$logs/spool" --spooler-processes 2 --module spooler_node --pythonpath "$here"
spooler=$ready_address

webs=()
for i in 1 2; do
  start_ready "web$i.log" env SPOOLER_NODE="$spooler" WEB_NAME="web$i" "$brood_bin" \
    --socket 127.0.0.1:0 --module web_node --pythonpath "$here"
  webs+=("$ready_address")
done
echo "spooler node: $spooler, web nodes: ${webs[*]}"

"$python" "$here/enqueue.py" --tasks "$tasks" --results "$results" "${webs[@]}"
