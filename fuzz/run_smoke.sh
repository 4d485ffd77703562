#!/usr/bin/env bash
# Smoke run of one libFuzzer target: BROOD_FUZZ_SECONDS (default 10) seconds from its seed corpus.
set -euo pipefail
target=$1 seeds=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[[ -d "$seeds" ]] && cp -r "$seeds"/. "$work"/ 2>/dev/null || true
exec "$target" -max_total_time="${BROOD_FUZZ_SECONDS:-10}" -max_len=70000 -print_final_stats=1 "$work"
