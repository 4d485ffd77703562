#!/usr/bin/env bash
# The Mako cluster: starts a template node (template_node.py renders templates/ with Mako) and a
# web node (web_node.py, a WSGI app that has the template node render its page through
# send_uwsgi_message), fetches one page from the web node over the uwsgi protocol and prints it,
# then stops both nodes.
#   examples/mako/run.sh BUILD_DIR [COUNT]     (COUNT Fibonacci numbers on the page, default 10)
# Both nodes are stopped (SIGTERM, then waited for) on any exit, error or Ctrl-C.
set -euo pipefail

build=${1:?usage: run.sh BUILD_DIR [COUNT]}
count=${2:-10}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
brood_bin=$build/cli/brood
python=${PYTHON:-/usr/bin/python3}
[[ -x $brood_bin ]] || { echo "run.sh: $brood_bin not built (run make build)" >&2; exit 2; }
[[ -d $build/python/brood ]] || { echo "run.sh: $build/python/brood not built" >&2; exit 2; }
export PYTHONPATH=$build/python${PYTHONPATH:+:$PYTHONPATH}
# shellcheck source=../cluster.sh
source "$here/../cluster.sh"
cluster_init mako

start_node template.log "$brood_bin" --socket 127.0.0.1:0 --module template_node --pythonpath "$here"
template=$(bound_address template.log "$(last_pid)")
wait_ready "$template"

start_node web.log env MAKO_NODE="$template" "$brood_bin" --socket 127.0.0.1:0 --module web_node \
  --pythonpath "$here"
web=$(bound_address web.log "$(last_pid)")
wait_ready "$web"
echo "template node: $template, web node: $web"
echo "GET /?n=$count from the web node:"

"$python" "$here/fetch.py" "$web" "/?n=$count"
