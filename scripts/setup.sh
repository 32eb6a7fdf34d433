#!/usr/bin/env bash
# setup.sh — install what llm4hep needs (Debian/Ubuntu packages, only when
# missing), configure and build. Idempotent: a second run installs nothing and
# rebuilds only what changed.
#
#   scripts/setup.sh            runtime packages + build/ (Release with debug info)
#   scripts/setup.sh --tests    also the packages the test suite needs (Slurm, munge, the
#                               linter, MPICH, valgrind, chromium, pytest, clang + libFuzzer, stress-ng, universal-ctags)
#   BUILD_DIR=dir               build somewhere else (default: <repo>/build)
#   CMAKE_ARGS="..."            extra arguments for cmake
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
with_tests=0
for a in "$@"; do
  case $a in
    --tests) with_tests=1 ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "setup.sh: unknown option '$a' (expected --tests or --help)" >&2; exit 2 ;;
  esac
done

runtime_pkgs=(build-essential cmake pkg-config git curl ca-certificates
  libopenmpi-dev openmpi-bin libcurl4-openssl-dev libcjson-dev libhdf5-dev libyaml-dev zlib1g-dev
  bubblewrap python3 python3-numpy python3-h5py python3-matplotlib python3-scipy
  python3-sklearn python3-pandas python3-yaml hdf5-tools)
test_pkgs=(libcmocka-dev python3-pytest slurmctld slurmd slurm-client munge shellcheck
  libmpich-dev mpich valgrind chromium parallel procps iproute2 clang libclang-rt-14-dev stress-ng universal-ctags)

pkgs=("${runtime_pkgs[@]}")
[ "$with_tests" = 1 ] && pkgs+=("${test_pkgs[@]}")
# libcmocka-dev is needed to configure the tests; the plain build skips them.

missing=()
if ! command -v dpkg-query >/dev/null; then
  echo "setup: not a Debian/Ubuntu system: no packages installed; the build needs MPI, HDF5,"
  echo "       libcurl, and libyaml + cJSON (or CMAKE_ARGS=-DLLM4HEP_FETCH_DEPS=ON) — see the README"
else
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "install ok installed" >/dev/null ||
      missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all ${#pkgs[@]} packages present"
fi

tests_flag=OFF
[ "$with_tests" = 1 ] && tests_flag=ON
# shellcheck disable=SC2086
cmake -S "$repo" -B "$build" -DLLM4HEP_PYTHON=/usr/bin/python3 -DLLM4HEP_TESTS=$tests_flag \
      ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$(nproc)"
echo "setup: built $build/llm4hep"
