#!/usr/bin/env bash
# demo.sh — set up, then run the demo campaigns: for each of the two suites
# (H→γγ, H→ZZ*→4ℓ) its synthetic samples and reference outputs, its scripted
# offline models × five steps × two trials on a few MPI ranks; then one report
# of both. No network, no API key.
#
#   scripts/demo.sh             4 MPI ranks, default sample sizes
#   RANKS=8 scripts/demo.sh     more task slots
#   LLM4HEP_HGG_SIZE=tiny LLM4HEP_HZZ_SIZE=tiny   smaller samples (seconds)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
ranks=${RANKS:-4}
# each campaign and its suite
campaigns=("$repo/examples/demo.yml:$repo/reference/hgg/suite.yml"
           "$repo/examples/demo-hzz.yml:$repo/reference/hzz/suite.yml")

BUILD_DIR=$build "$repo/scripts/setup.sh"
bin=$build/llm4hep

if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1

outs=()
for pair in "${campaigns[@]}"; do
  config=${pair%%:*} suite=${pair#*:}
  echo "== the campaign plan: $config"
  "$bin" sweep "$config" --dry-run

  echo "== data and reference outputs (generated once, then reused)"
  "$bin" reference "$suite"

  echo "== the campaign on $ranks MPI ranks"
  set +e
  mpirun -n "$ranks" "$bin" sweep "$config"
  rc=$?
  set -e
  if [ $rc -ne 0 ]; then
    echo "demo: sweep exited $rc (4 = stopped early: run scripts/demo.sh again to resume)" >&2
    exit $rc
  fi
  outs+=("$("$bin" sweep "$config" --dry-run | sed -n "s/^output  *\([^ ]*\).*/\1/p" | head -1)")
done

echo "== report (both suites: their steps are rows of their own)"
"$bin" report "${outs[@]}"
echo
echo "Results: ${outs[*]}  (python3: import h5py; or scripts/llm4hep.py; llm4hep show FILE TASK;"
echo "         figures: llm4hep plots ${outs[*]} --out figures --html figures/report.html)"
