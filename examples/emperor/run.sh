#!/usr/bin/env bash
# The emperor: `brood --emperor DIR` runs one vassal per ini file in DIR. This demo writes three
# vassal files (two C++ nodes and the fibcalc Python node of examples/fibcalc), starts the
# emperor, waits until every vassal answers, then touches one file (a graceful reload, timed),
# removes another (the vassal stops, timed), prints the emperor-stats JSON, and stops the emperor
# (SIGTERM: it stops every vassal first).
#   examples/emperor/run.sh BUILD_DIR
set -euo pipefail

build=${1:?usage: run.sh BUILD_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../cluster.sh
source "$here/../cluster.sh"
use_build "$build"
cluster_init emperor
vassals=$logs/vassals
mkdir "$vassals"

for name in alpha beta; do
  printf '[uwsgi]\nsocket = %s/%s.sock\nprocesses = 2\n' "$logs" "$name" >"$vassals/$name.ini"
done
printf '[uwsgi]\nsocket = %s/fib.sock\nprocesses = 2\nmodule = fibcalc_node\npythonpath = %s\n' \
  "$logs" "$here/../fibcalc" >"$vassals/fib.ini"

start_node emperor.log "$brood_bin" --emperor "$vassals" --emperor-stats "$logs/stats.sock"
for name in alpha beta fib; do wait_ready "$logs/$name.sock"; done
echo "emperor: 3 vassals answer (alpha, beta: C++ nodes; fib: Python fibcalc)"

now_ms() { date +%s%3N; }
t0=$(now_ms)
touch -d '+2 seconds' "$vassals/alpha.ini"
for _ in $(seq 500); do grep -q 'workers reloaded (reload 1)' "$logs/emperor.log" && break; sleep 0.01; done
grep -q 'workers reloaded (reload 1)' "$logs/emperor.log" || { echo "alpha did not reload" >&2; exit 1; }
echo "touched alpha.ini: reloaded in $(($(now_ms) - t0)) ms, $("$brood_bin" ping "$logs/alpha.sock")"

t0=$(now_ms)
rm "$vassals/beta.ini"
for _ in $(seq 500); do "$brood_bin" ping "$logs/beta.sock" --timeout 1 >/dev/null 2>&1 || break; sleep 0.01; done
echo "removed beta.ini: stopped in $(($(now_ms) - t0)) ms"

"$python" - "$logs/stats.sock" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
doc = b"".join(iter(lambda: s.recv(65536), b""))
stats = json.loads(doc)
print("emperor-stats: pid %d, %d vassals" % (stats["pid"], len(stats["vassals"])))
for v in stats["vassals"]:
    print("  %-8s pid %-6d ready %d loyal %d respawns %d" %
          (v["id"], v["pid"], v["ready"], v["loyal"], v["respawns"]))
PY
