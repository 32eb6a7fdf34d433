#!/usr/bin/env bash
# test.sh — set up and run every test: unit, integration (real MPI ranks, HTTP
# on loopback, bubblewrap, a private Slurm), benchmarks in quick mode; then
# the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer, a
# short run of each libFuzzer target (clang build in build-fuzz/), and a build
# against MPICH to keep the code MPI-portable.
#
#   scripts/test.sh              everything (what CI runs)
#   scripts/test.sh -R PATTERN   only tests matching PATTERN in the main build
#   LLM4HEP_BENCH_FULL=1         benchmarks in full mode (minutes; figures for notes)
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1

BUILD_DIR=$build "$repo/scripts/setup.sh" --tests || { echo "test.sh: setup failed"; exit 1; }

passed=0 failed=0
# run_ctest LABEL DIR ARGS... — run ctest, add its counts to the totals.
run_ctest() {
  local label=$1 dir=$2; shift 2
  local log; log=$(mktemp)
  echo "== $label"
  ctest --test-dir "$dir" --output-on-failure --no-tests=error "$@" 2>&1 | tee "$log"
  local line; line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  if [ -z "$line" ]; then
    echo "test.sh: $label: ctest printed no summary"; failed=$((failed + 1))
  else
    local f t
    f=$(sed -E 's/.*passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    t=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    passed=$((passed + t - f)); failed=$((failed + f))
  fi
  rm -f "$log"
}

if [ "${1:-}" = "-R" ]; then
  run_ctest "selected tests" "$build" -R "$2"
  echo "tests: $passed passed, $failed failed"
  [ "$failed" = 0 ]; exit $?
fi

run_ctest "unit tests" "$build" -L unit -j2
# two at a time: most of their time is spent waiting (for ranks, servers,
# Slurm, sandboxes), and every wait is for an event with a generous deadline
run_ctest "integration tests" "$build" -L integration -j2
run_ctest "benchmarks (quick mode)" "$build" -L bench

echo "== unit tests under ASan + UBSan"
if cmake -S "$repo" -B "$repo/build-asan" -DLLM4HEP_PYTHON=/usr/bin/python3 -DLLM4HEP_SANITIZE=ON \
      -DCMAKE_BUILD_TYPE=Debug >/dev/null && cmake --build "$repo/build-asan" -j2 >/dev/null; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_ctest "unit tests (sanitizers)" "$repo/build-asan" -L unit -j2
else
  echo "test.sh: sanitizer build failed"; failed=$((failed + 1))
fi

echo "== fuzz targets (libFuzzer, a short run of each)"
if "$repo/scripts/fuzz.sh" --build-only; then
  run_ctest "fuzz targets" "$repo/build-fuzz" -L fuzz
else
  echo "test.sh: the fuzz build failed"; failed=$((failed + 1))
fi

echo "== build against MPICH"
if cmake -S "$repo" -B "$repo/build-mpich" -DLLM4HEP_PYTHON=/usr/bin/python3 -DLLM4HEP_TESTS=OFF \
      -DMPI_C_COMPILER=/usr/bin/mpicc.mpich >/dev/null && cmake --build "$repo/build-mpich" -j2 >/dev/null; then
  if ldd "$repo/build-mpich/llm4hep" | grep libmpich >/dev/null; then
    echo "MPICH build: ok (linked against libmpich)"; passed=$((passed + 1))
    # The same campaign tests, launched by MPICH's mpiexec.
    if LLM4HEP_BIN="$repo/build-mpich/llm4hep" LLM4HEP_MPIEXEC=mpiexec.mpich LLM4HEP_SOURCE_DIR="$repo" \
        /usr/bin/python3 -m pytest -q -p no:cacheprovider "$repo/tests/integration/test_mpi_campaign.py" \
        -k "four_ranks_scripted or sigusr1 or one_rank"; then
      passed=$((passed + 1))
    else
      echo "test.sh: the campaign under MPICH failed"; failed=$((failed + 1))
    fi
  else
    echo "test.sh: MPICH build did not link libmpich"; failed=$((failed + 1))
  fi
else
  echo "test.sh: MPICH build failed"; failed=$((failed + 1))
fi

echo "tests: $passed passed, $failed failed"
[ "$failed" = 0 ]
