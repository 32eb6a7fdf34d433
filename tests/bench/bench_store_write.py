"""Benchmark of the results store, against baselines measured in the same run.

Write: records/s of l4h_store_add (journal record, fsync) + checkpoints every
16 records + the final close, versus writing the same records' JSON to a
plain file with an fsync after each (no HDF5 at all). Both are produced by
tests/tools/store_synth from identical records; runs alternate and the
median is kept, so disk noise from other work hits both sides alike.

Read: l4h_results_open (every /tasks row into C structs, long error
summaries from /text) versus h5py + pandas reading /tasks into a DataFrame;
and one task's transcript data (l4h_results_task).

Quick mode (default): 150 task keys, seconds. Full mode (LLM4HEP_BENCH_FULL=1):
10,000 task keys (~11,000 attempts), the size DESIGN's "report on 10,000 tasks
in well under 1 s" speaks of.
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import pandas as pd

FULL = os.environ.get("LLM4HEP_BENCH_FULL") == "1"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from conftest import TOOLS  # noqa: E402,F401 (conftest puts scripts/ on sys.path)
N = 10000 if FULL else 150
REPEATS = 3


def run(*args):
    r = subprocess.run([os.path.join(TOOLS, args[0]), *map(str, args[1:])], capture_output=True,
                       text=True, timeout=1800)
    if r.returncode != 0:
        sys.exit(f"{args[0]} failed: {r.stderr}")
    return r.stdout


def seconds(out):
    return float(re.search(r", ([\d.]+) s\s*$", out).group(1))


def main():
    tmp = tempfile.mkdtemp(prefix="bench-store-")
    try:
        store_s, base_s = [], []
        records = 0
        for i in range(REPEATS):
            h5 = os.path.join(tmp, f"s{i}.h5")
            out = run("store_synth", h5, "--tasks", N, "--seed", 1, "--checkpoint-every", 16)
            records = int(re.search(r"(\d+) added", out).group(1))
            store_s.append(seconds(out))
            out = run("store_synth", os.path.join(tmp, f"b{i}.jsonl"), "--tasks", N, "--seed", 1,
                      "--baseline")
            base_s.append(seconds(out))
        st, bs = statistics.median(store_s), statistics.median(base_s)
        h5 = os.path.join(tmp, "s0.h5")
        print(f"bench_store_write: {'full' if FULL else 'quick'} mode, {N} task keys, "
              f"{records} records, median of {REPEATS}")
        print(f"  store   (journal+fsync, checkpoint every 16, close): {records / st:9.0f} records/s"
              f"  ({st:.3f} s)")
        print(f"  baseline (same JSON, plain file, fsync each):        {records / bs:9.0f} records/s"
              f"  ({bs:.3f} s)")
        print(f"  ratio store/baseline throughput: {bs / st:.2f}")
        print(f"  sizes: results file {os.path.getsize(h5) / 1e6:.1f} MB, journal "
              f"{os.path.getsize(h5 + '.journal') / 1e6:.1f} MB, baseline "
              f"{os.path.getsize(os.path.join(tmp, 'b0.jsonl')) / 1e6:.1f} MB")

        # read: C reader vs h5py + pandas on /tasks
        c_open, c_task, py_open = [], [], []
        for _ in range(REPEATS):
            out = run("store_read", h5, records // 2)
            c_open.append(float(re.search(r"open ([\d.]+) s", out).group(1)))
            c_task.append(float(re.search(r"checks, \d+ text bytes, ([\d.]+) s", out).group(1)))
            t0 = time.perf_counter()
            with h5py.File(h5, "r") as f:
                df = pd.DataFrame(f["tasks"][:])
            py_open.append(time.perf_counter() - t0)
            assert len(df) == records
        co, ct, po = (statistics.median(x) for x in (c_open, c_task, py_open))
        print(f"  l4h_results_open on {records} tasks: {co * 1000:.1f} ms "
              f"(h5py+pandas /tasks baseline {po * 1000:.1f} ms, ratio {co / po:.2f}); "
              f"target < 1 s: {'met' if co < 1.0 else 'NOT met'}")
        print(f"  l4h_results_task (one task's calls/execs/checks and texts): {ct * 1000:.2f} ms")
        import llm4hep
        t0 = time.perf_counter()
        r = llm4hep.open_results(h5)
        text = r.transcript(records // 2)
        pt = time.perf_counter() - t0
        print(f"  llm4hep.py open + transcript of one task ({len(text)} chars): "
              f"{pt * 1000:.1f} ms")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
