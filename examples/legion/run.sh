#!/usr/bin/env bash
# A legion of three brood nodes (valor 1, 2 and 3) elects a lord; the lord is killed (SIGKILL)
# and another member takes over. Each member's `legion-lord` hook (on_lord.sh) prints the epoch
# of its term and how long the election took. As root, each member runs in its own network
# namespace (10.213.78.1-3, joined by veth pairs to a bridge in a fourth namespace, all deleted
# on exit); otherwise (or with LEGION_LOOPBACK=1) the members use loopback ports.
#   examples/legion/run.sh BUILD_DIR
set -euo pipefail

build=${1:?usage: run.sh BUILD_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../cluster.sh
source "$here/../cluster.sh"
use_build "$build"
if [[ $("$brood_bin" --help 2>&1) != *--legion-node* ]]; then
  echo "legion: this brood has no legion options; skipped" >&2
  exit 0
fi
cluster_init legion

namespaces=()
legion_stop() {
  local status=$?
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    pids=()
  fi
  local ns
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  (exit "$status")
  cluster_stop
}
trap legion_stop EXIT

members=(m1 m2 m3)
declare -A addr
if [[ $(id -u) == 0 && -z ${LEGION_LOOPBACK:-} ]] && ip netns list >/dev/null 2>&1; then
  placement="in network namespaces"
  prefix=lgdemo$$
  ip netns add "$prefix-br" && namespaces+=("$prefix-br")
  ip -n "$prefix-br" link add br0 type bridge
  ip -n "$prefix-br" link set br0 up
  for i in 1 2 3; do
    ns=$prefix-m$i
    ip netns add "$ns" && namespaces+=("$ns")
    ip -n "$ns" link set lo up
    ip -n "$prefix-br" link add "v-m$i" type veth peer name eth0 netns "$ns"
    ip -n "$prefix-br" link set "v-m$i" master br0 up
    ip -n "$ns" addr add "10.213.78.$i/24" dev eth0
    ip -n "$ns" link set eth0 up
    addr[m$i]=10.213.78.$i:4000
  done
  run_in() { local m=$1; shift; exec ip netns exec "$prefix-$m" "$@"; }
else
  placement="on loopback ports"
  read -r p1 p2 p3 < <("$python" -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
  addr[m1]=127.0.0.1:$p1 addr[m2]=127.0.0.1:$p2 addr[m3]=127.0.0.1:$p3
  run_in() { shift; exec "$@"; }
fi

story=$logs/story
: >"$story"
date +%s%3N >"$logs/started_at"
declare -A pid_of
for i in 1 2 3; do
  m=m$i
  args=(--master --socket 127.0.0.1:0 --processes 1 --legion "demo ${addr[$m]} $i s3cr3t"
    --legion-lord "demo cmd:$here/on_lord.sh $m $logs"
    --legion-unlord "demo log:$m is no longer the lord")
  for o in "${members[@]}"; do
    [[ $o == "$m" ]] || args+=(--legion-node "demo ${addr[$o]}")
  done
  start_node "$m.log" run_in "$m" "$brood_bin" "${args[@]}"
  pid_of[$m]=$(last_pid)
done
echo "legion: 3 members $placement: m1=${addr[m1]} m2=${addr[m2]} m3=${addr[m3]}" \
  "(valor 1, 2, 3; quorum 2)"

# Prints the story's lines as they come; waits (at most 15 s) for line number $1.
shown=0
wait_story() {
  for _ in $(seq 150); do
    if (($(wc -l <"$story") >= $1)); then
      tail -n +$((shown + 1)) "$story"
      shown=$(wc -l <"$story")
      return 0
    fi
    sleep 0.1
  done
  echo "legion: no lord after 15 s" >&2
  return 1
}
wait_story 1
lord=$(sed -n '1s/^legion: \(m[0-9]\) .*/\1/p' "$story")
sleep 1 # the lord holds its term: heartbeats renew its lease
echo "legion: killing the lord $lord (SIGKILL, pid ${pid_of[$lord]})"
date +%s%3N >"$logs/killed_at"
kill -KILL "${pid_of[$lord]}"
{ wait "${pid_of[$lord]}" || true; } 2>/dev/null
pids=("${pids[@]/${pid_of[$lord]}/}")
wait_story 2
echo "legion: stopping the members"
