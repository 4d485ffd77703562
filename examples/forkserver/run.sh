#!/usr/bin/env bash
# The fork server: an emperor whose vassals are forked from a base vassal that has already imported
# the application, instead of exec'd. app.py's import takes 2 s; base.ini imports it once
# (`fork-server = SOCKET`, `module = app`); one.ini (2 processes) and two.ini (4 processes), each
# on its own HTTP port, are forked from the base and answer within milliseconds of their file
# appearing; exec.ini (the same app, named by --vassal-fork-base, so exec'd) pays the 2 s import.
# vassals.py adds the files one at a time and prints each time; then the emperor stops (SIGTERM:
# every vassal and the base stop with it).
#   examples/forkserver/run.sh BUILD_DIR
set -euo pipefail

build=${1:?usage: run.sh BUILD_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../cluster.sh
source "$here/../cluster.sh"
use_build "$build"
cluster_init forkserver
vassals=$logs/vassals
mkdir "$vassals"
printf '[uwsgi]\nfork-server = %s/fork.sock\nmodule = app\npythonpath = %s\n' "$logs" "$here" \
  >"$vassals/base.ini"

start_node emperor.log "$brood_bin" --emperor "$vassals" --emperor-use-fork-server "$logs/fork.sock" \
  --vassal-fork-base base.ini --vassal-fork-base exec.ini --emperor-stats "$logs/stats.sock"
"$python" "$here/vassals.py" "$vassals" "$logs/fork.sock" "$logs/stats.sock" "$here"
