# Shared by the example scripts (source it): start local nodes on ephemeral loopback ports, find
# their addresses, wait until they answer, and stop every one of them on any exit, error or Ctrl-C.
#   use_build BUILD_DIR        sets brood_bin and python, checks brood and its Python package are
#                              built, and puts the package on PYTHONPATH; call first
#   cluster_init NAME          a log folder and the traps; call once
#   start_node LOG CMD...      runs CMD in the background, stderr to $logs/LOG; prints nothing
#   last_pid                   the pid of the node started last
#   bound_address LOG PID      the "HOST:PORT" the node logged ("uwsgi socket 0 bound to TCP
#                              address HOST:PORT fd F"), waiting at most 10 s
#   wait_ready ADDR            waits at most 10 s for the node to answer a ping
#   start_ready LOG CMD...     start_node, then sets ready_address to the node's address once it
#                              answers (not in a $(...) subshell: the node must join pids)

pids=()
logs=""

use_build() {
  local build=$1
  brood_bin=$build/cli/brood
  python=${PYTHON:-/usr/bin/python3}
  [[ -x $brood_bin ]] || { echo "run.sh: $brood_bin not built (run make build)" >&2; exit 2; }
  [[ -d $build/python/brood ]] || { echo "run.sh: $build/python/brood not built" >&2; exit 2; }
  export PYTHONPATH=$build/python${PYTHONPATH:+:$PYTHONPATH}
}

cluster_stop() {
  local status=$? log
  if ((status != 0 && status != 130)) && [[ -n $logs ]]; then
    for log in "$logs"/*.log; do
      [[ -s $log ]] && { echo "--- ${log##*/} (last lines)" >&2; tail -n 20 "$log" >&2; }
    done
  fi
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  [[ -n $logs ]] && rm -rf "$logs"
  exit "$status"
}

cluster_init() {
  logs=$(mktemp -d "${TMPDIR:-/tmp}/brood-$1.XXXXXX")
  trap cluster_stop EXIT
  trap 'exit 130' INT TERM
}

start_node() {
  local log=$1
  shift
  "$@" 2>"$logs/$log" >&2 &
  pids+=($!)
}

last_pid() { echo "${pids[-1]}"; }

bound_address() {
  local log=$logs/$1 pid=$2 line
  for _ in $(seq 100); do
    line=$(grep -m1 -o 'uwsgi socket 0 bound to TCP address [^ ]*' "$log" || true)
    if [[ -n $line ]]; then
      echo "${line##* }"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "node $pid did not bind a socket; its log:" >&2
  cat "$log" >&2
  return 1
}

wait_ready() {
  for _ in $(seq 50); do
    "$brood_bin" ping "$1" --timeout 1 >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "node $1 does not answer ping" >&2
  return 1
}

start_ready() {
  local log=$1
  shift
  start_node "$log" "$@"
  ready_address=$(bound_address "$log" "$(last_pid)")
  wait_ready "$ready_address"
}
