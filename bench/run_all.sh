#!/usr/bin/env bash
# Runs every benchmark of bench/ from a build directory and prints their BENCH lines.
# Usage: bench/run_all.sh BUILD_DIR
set -euo pipefail
build=${1:-build/release}
echo "# $(date -u +%Y-%m-%d) $(nproc) vCPUs, $(uname -r)"
for b in message_latency_bench scatter_bench throughput_bench router_bench; do
  "$build/bench/$b"
done
# The Python benchmarks (issue 3): brood vs real uWSGI, measured in the same run.
bench_dir=$(dirname "$0")
"$bench_dir/python/run_all.sh" "$build"
