#!/usr/bin/env bash
# fuzz.sh — build the libFuzzer targets of tests/fuzz (clang, ASan + UBSan,
# build-fuzz/) and run them.
#
#   scripts/fuzz.sh                 a short run of each target (ctest -L fuzz; what CI runs)
#   scripts/fuzz.sh --build-only    configure and build only (test.sh then runs ctest -L fuzz)
#   scripts/fuzz.sh --long SECONDS  each target for SECONDS, one after another, with a table
#                                   of figures (executions, time, corpus, findings) at the end
#   FUZZ_BUILD_DIR=dir              build somewhere else (default: <repo>/build-fuzz)
#   LLM4HEP_FUZZ_SECONDS=N          seconds per target of the short run (default 5)
#
# A finding is written to build-fuzz/tests/fuzz/fuzz-artifacts/ (crash-*, leak-*, timeout-*,
# oom-*); fix it and commit the input to tests/fuzz/corpus/<target>/ as a regression seed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$repo/build-fuzz}
long=0 build_only=0
case ${1:-} in
  --build-only) build_only=1 ;;
  --long) long=${2:?"fuzz.sh: --long needs SECONDS"} ;;
  "") ;;
  -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 0 ;;
  *) echo "fuzz.sh: unknown option '$1' (expected --long SECONDS or --help)" >&2; exit 2 ;;
esac
if ! command -v clang >/dev/null; then
  echo "fuzz.sh: clang not found: install clang and libclang-rt-14-dev (scripts/setup.sh --tests)" >&2
  exit 3
fi
CC=clang cmake -S "$repo" -B "$build" -DLLM4HEP_FUZZ=ON -DLLM4HEP_TESTS=OFF \
  -DLLM4HEP_PYTHON=/usr/bin/python3 -DLLM4HEP_FUZZ_SECONDS="${LLM4HEP_FUZZ_SECONDS:-5}" >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
[ "$build_only" = 1 ] && exit 0
if [ "$long" = 0 ]; then
  exec ctest --test-dir "$build" -L fuzz --output-on-failure
fi

export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
art=$build/tests/fuzz/fuzz-artifacts
mkdir -p "$art"
table=""
status=0
for src in "$repo"/tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c); name=${name#fuzz_}
  work=$build/tests/fuzz/work-corpus/$name
  mkdir -p "$work"
  log=$build/tests/fuzz/long-$name.log
  echo "== $name: $long s"
  before=$(find "$art" -name "$name-*" | wc -l)
  if ! "$build/tests/fuzz/fuzz_$name" -max_total_time="$long" -timeout=10 -rss_limit_mb=2048 \
       -max_len=65536 -print_final_stats=1 -artifact_prefix="$art/$name-" \
       "$work" "$repo/tests/fuzz/corpus/$name" >"$log" 2>&1; then
    status=1
  fi
  after=$(find "$art" -name "$name-*" | wc -l)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  corpus=$(find "$work" -type f | wc -l)
  table+=$(printf '%-14s %6ss %12s execs %8s/s  cov %6s  corpus %6s  findings %s' \
           "$name" "$long" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$corpus" "$((after - before))")$'\n'
done
echo "== figures"
printf '%s' "$table"
exit $status
