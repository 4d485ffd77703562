#!/usr/bin/env bash
# Runs the Python benchmarks (issues 3 and 4) from a build directory, prints their BENCH lines, and
# appends them with the date to bench/RESULTS.md under "## Issue 3 (Python)" (set
# BROOD_BENCH_RECORD=0 to leave RESULTS.md alone).
#   bench/python/run_all.sh BUILD_DIR
# Needs real uWSGI (Debian uwsgi-core, uwsgi-plugin-python3) and a C compiler (for uwsgi_load).
# The cheaper benchmark (issue 11, cheaper_bench.py) takes ~15 minutes and is opt-in: set
# BROOD_BENCH_CHEAPER=1 (all algorithms and shapes) or BROOD_BENCH_CHEAPER="ARGS" (its options,
# e.g. "--algos spare,brood --shapes step").
# The broodlord benchmark (issue 12, broodlord_bench.py) takes ~1 minute per run and is opt-in:
# set BROOD_BENCH_BROODLORD=1 (both systems, one run) or BROOD_BENCH_BROODLORD="ARGS" (its
# options, e.g. "--repeat 3" or "--systems brood --seconds 10").
# The HTTP benchmark (issue 13, http_bench.py, needs wrk) takes ~3 minutes and is opt-in: set
# BROOD_BENCH_HTTP=1 (every system, 3 rounds) or BROOD_BENCH_HTTP="ARGS" (its options, e.g.
# "--repeat 1 --connections 16").
# The fork-server benchmark (issue 14, forkserver_bench.py, needs python3-numpy) takes ~4 minutes
# and is opt-in: set BROOD_BENCH_FORKSERVER=1 (every app and system, 20 vassals each) or
# BROOD_BENCH_FORKSERVER="ARGS" (its options, e.g. "--runs 5 --apps numpy").
# The legion benchmark (issue 15, legion_bench.py; network namespaces as root, etcd for the etcd
# backend) takes ~40 minutes and is opt-in: set BROOD_BENCH_LEGION=1 (every system, 20 failovers,
# 100 cuts for brood, 5 for uWSGI) or BROOD_BENCH_LEGION="ARGS" (its options, e.g. "--systems
# brood,uwsgi-fast --trials 20 --cuts 100" or "--quiet 600" for the 10-minute run without faults).
# The placement benchmark (issue 18, placement_bench.py; network namespaces as root, etcd for
# --backend etcd) takes ~10 minutes and is opt-in: set BROOD_BENCH_PLACEMENT=1 (100 vassals, 3
# lord and 3 member kills, 100 cuts, then the same with --backend etcd) or
# BROOD_BENCH_PLACEMENT="ARGS" (its options, e.g. "--vassals 100 --cuts 100 --backend zmq").
set -euo pipefail

build=$(cd "${1:-build/release}" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
results=$here/../RESULTS.md
python=${PYTHON:-/usr/bin/python3}
[[ -x $build/cli/brood && -d $build/python/brood ]] ||
  { echo "run_all.sh: brood or its Python package is not built in $build" >&2; exit 2; }
command -v uwsgi >/dev/null ||
  { echo "run_all.sh: uwsgi is not installed (scripts/deps.sh installs it)" >&2; exit 2; }

mkdir -p "$build/bench/python"
load_client=$build/bench/python/uwsgi_load
if [[ ! -x $load_client || $here/uwsgi_load.c -nt $load_client ]]; then
  cc -O2 -Wall -Wextra -o "$load_client" "$here/uwsgi_load.c"
fi

export PYTHONPATH=$build/python${PYTHONPATH:+:$PYTHONPATH}
export PYTHONDONTWRITEBYTECODE=1
out=$(mktemp "${TMPDIR:-/tmp}/brood-pybench.XXXXXX")
trap 'rm -f "$out"' EXIT

{
  echo "# $(date -u +%Y-%m-%d) $(nproc) vCPUs, $(uname -r), $(uwsgi --version | sed 's/^/uWSGI /')"
  "$python" "$here/rpc_bench.py" "$build"
  "$python" "$here/wsgi_bench.py" "$build" "$load_client"
  "$python" "$here/fibcalc_bench.py" "$build"
  "$python" "$here/spooler_bench.py" "$build"
  "$python" "$here/emperor_bench.py" "$build"
  "$python" "$here/lifetime_bench.py" "$build" "$load_client"
  case ${BROOD_BENCH_CHEAPER:-0} in
    0) ;;
    1) "$python" "$here/cheaper_bench.py" "$build" ;;
    *) read -ra cheaper_args <<<"$BROOD_BENCH_CHEAPER"
       "$python" "$here/cheaper_bench.py" "$build" "${cheaper_args[@]}" ;;
  esac
  case ${BROOD_BENCH_BROODLORD:-0} in
    0) ;;
    1) "$python" "$here/broodlord_bench.py" "$build" ;;
    *) read -ra broodlord_args <<<"$BROOD_BENCH_BROODLORD"
       "$python" "$here/broodlord_bench.py" "$build" "${broodlord_args[@]}" ;;
  esac
  case ${BROOD_BENCH_HTTP:-0} in
    0) ;;
    1) "$python" "$here/http_bench.py" "$build" ;;
    *) read -ra http_args <<<"$BROOD_BENCH_HTTP"
       "$python" "$here/http_bench.py" "$build" "${http_args[@]}" ;;
  esac
  case ${BROOD_BENCH_FORKSERVER:-0} in
    0) ;;
    1) "$python" "$here/forkserver_bench.py" "$build" ;;
    *) read -ra forkserver_args <<<"$BROOD_BENCH_FORKSERVER"
       "$python" "$here/forkserver_bench.py" "$build" "${forkserver_args[@]}" ;;
  esac
  case ${BROOD_BENCH_LEGION:-0} in
    0) ;;
    1) "$python" "$here/legion_bench.py" "$build" ;;
    *) read -ra legion_args <<<"$BROOD_BENCH_LEGION"
       "$python" "$here/legion_bench.py" "$build" "${legion_args[@]}" ;;
  esac
  case ${BROOD_BENCH_PLACEMENT:-0} in
    0) ;;
    1) "$python" "$here/placement_bench.py" "$build"
       "$python" "$here/placement_bench.py" "$build" --backend etcd ;;
    *) read -ra placement_args <<<"$BROOD_BENCH_PLACEMENT"
       "$python" "$here/placement_bench.py" "$build" "${placement_args[@]}" ;;
  esac
} | tee "$out"

if [[ ${BROOD_BENCH_RECORD:-1} != 0 ]]; then
  grep -qx '## Issue 3 (Python)' "$results" 2>/dev/null ||
    printf '\n## Issue 3 (Python)\n\nRun by `bench/python/run_all.sh BUILD_DIR`.\n' >>"$results"
  {
    printf '\n### %s\n\n```\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    cat "$out"
    printf '```\n'
  } >>"$results"
  echo "appended to $results"
fi
