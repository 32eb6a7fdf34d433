#!/usr/bin/env bash
# demo.sh — set up, then run the demo campaign: the H→γγ suite's synthetic
# samples and reference outputs, three scripted offline models × five steps ×
# two trials on a few MPI ranks, then the report. No network, no API key.
#
#   scripts/demo.sh             4 MPI ranks, default sample size
#   RANKS=8 scripts/demo.sh     more task slots
#   LLM4HEP_HGG_SIZE=tiny       smaller samples (seconds)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
ranks=${RANKS:-4}
config=$repo/examples/demo.yml

BUILD_DIR=$build "$repo/scripts/setup.sh"
bin=$build/llm4hep

if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1

echo "== the campaign plan"
"$bin" sweep "$config" --dry-run

echo "== data and reference outputs (generated once, then reused)"
"$bin" reference "$repo/reference/hgg/suite.yml"

echo "== the campaign on $ranks MPI ranks"
set +e
mpirun -n "$ranks" "$bin" sweep "$config"
rc=$?
set -e
if [ $rc -ne 0 ]; then
  echo "demo: sweep exited $rc (4 = stopped early: run scripts/demo.sh again to resume)" >&2
  exit $rc
fi

out=$("$bin" sweep "$config" --dry-run | sed -n "s/^output  *\([^ ]*\).*/\1/p" | head -1)
echo "== report"
"$bin" report "$out"
echo
echo "Results: $out  (python3: import h5py; or scripts/llm4hep.py; llm4hep show $out TASK)"
