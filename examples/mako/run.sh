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
# shellcheck source=../cluster.sh
source "$here/../cluster.sh"
use_build "$build"
cluster_init mako

start_ready template.log "$brood_bin" --socket 127.0.0.1:0 --module template_node --pythonpath "$here"
template=$ready_address
start_ready web.log env MAKO_NODE="$template" "$brood_bin" --socket 127.0.0.1:0 --module web_node \
  --pythonpath "$here"
web=$ready_address
echo "template node: $template, web node: $web"
echo "GET /?n=$count from the web node:"

"$python" "$here/fetch.py" "$web" "/?n=$count"
