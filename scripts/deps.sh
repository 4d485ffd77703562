#!/usr/bin/env bash
# Installs the Debian packages brood needs that are missing. Safe to run again: it does nothing
# when everything is there. Usage: scripts/deps.sh
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev libboost-program-options-dev
  libzmq3-dev cppzmq-dev libmsgpack-cxx-dev nlohmann-json3-dev libssl-dev etcd-server etcd-client
  pybind11-dev python3-dev python3-pytest
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev clang-format util-linux procps iproute2
  uwsgi-core uwsgi-plugin-python3 nginx-light python3-mako python3-numpy wrk
)
missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0
echo "deps: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
