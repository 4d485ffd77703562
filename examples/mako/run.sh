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

logs=$(mktemp -d "${TMPDIR:-/tmp}/brood-mako.XXXXXX")
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

"$brood_bin" --socket 127.0.0.1:0 --module template_node --pythonpath "$here" \
  2>"$logs/template.log" >&2 &
pids+=($!)
template=$(bound_address "$logs/template.log" "$!")
wait_ready "$template"

MAKO_NODE=$template "$brood_bin" --socket 127.0.0.1:0 --module web_node --pythonpath "$here" \
  2>"$logs/web.log" >&2 &
pids+=($!)
web=$(bound_address "$logs/web.log" "$!")
wait_ready "$web"
echo "template node: $template, web node: $web"
echo "GET /?n=$count from the web node:"

"$python" "$here/fetch.py" "$web" "/?n=$count"
