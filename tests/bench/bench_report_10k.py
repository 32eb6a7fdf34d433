"""Benchmark of `llm4hep report` on a 10,000-task results file, against a
baseline measured in the same run: h5py + pandas reading /tasks and doing
the same group-by (successes, trials, Wilson bounds, iterations, calls,
tokens, cost, wall time per model and step).

The file is written once by tests/tools/store_synth (10,000 task keys,
~11,300 attempts: one key in eight has an error_api attempt first), in
/dev/shm when it exists so that the fsyncs of writing it cost little.
Target (DESIGN, issue 9): the report in under 1 s.

Quick mode (default): 10,000 keys with 1 KiB texts, 5 timed runs each.
Full mode (LLM4HEP_BENCH_FULL=1): 10,000 keys with the default 4 KiB texts
(a heap four times larger), and three such files merged, 9 runs each.
Exit 1 only when the report's numbers disagree with the baseline's.
"""

import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import pandas as pd

FULL = os.environ.get("LLM4HEP_BENCH_FULL") == "1"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from conftest import BIN, TOOLS  # noqa: E402
N = 10000
REPEATS = 9 if FULL else 5
INFRA = [b"error_api", b"error_sandbox", b"error_internal", b"interrupted"]


def synth(path, seed, text_kb):
    r = subprocess.run([os.path.join(TOOLS, "store_synth"), path, "--tasks", str(N), "--seed",
                        str(seed), "--text-kb", str(text_kb), "--checkpoint-every", "0",
                        "--campaign", f"bench-{seed}"],
                       capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        sys.exit(f"store_synth failed: {r.stderr}")
    return float(re.search(r", ([\d.]+) s\s*$", r.stdout).group(1))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run_report(paths, *args):
    r = subprocess.run([BIN, "report", *paths, *args], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        sys.exit(f"llm4hep report failed: {r.stderr}")
    return r.stdout


def baseline(paths):
    """The same aggregation in h5py + pandas."""
    frames = []
    for p in paths:
        with h5py.File(p, "r") as f:
            frames.append(pd.DataFrame(f["tasks"][:]))
    df = pd.concat(frames, ignore_index=True)
    df = df[(df.final == 1) & ~df.status.isin(INFRA)]
    df = df.assign(model=np.where(df.supervisor == df.coder, df.supervisor,
                                  df.supervisor + b"+" + df.coder))
    g = df.groupby(["model", "step"]).agg(trials=("success", "size"), successes=("success", "sum"),
                                          iterations=("iterations", "mean"),
                                          api_calls=("api_calls", "mean"),
                                          prompt_tokens=("prompt_tokens", "sum"),
                                          completion_tokens=("completion_tokens", "sum"),
                                          cost_usd=("cost_usd", "sum"), wall_s=("wall_s", "mean"))
    p = g.successes / g.trials
    z2 = 1.96 ** 2
    d = 1 + z2 / g.trials
    c = (p + z2 / (2 * g.trials)) / d
    h = 1.96 * np.sqrt(p * (1 - p) / g.trials + z2 / (4 * g.trials ** 2)) / d
    g["wilson_lo"], g["wilson_hi"] = (c - h).clip(0, 1), (c + h).clip(0, 1)
    return g


def check(js, g):
    """The report's groups equal the baseline's."""
    got = {(x["model"], x["step"]): x for x in js["groups"]}
    if len(got) != len(g):
        sys.exit(f"report has {len(got)} groups, baseline {len(g)}")
    for (m, s), row in g.iterrows():
        x = got[(m.decode(), s.decode())]
        if (x["trials"], x["successes"]) != (row.trials, row.successes) or \
                abs(x["wilson_lo"] - row.wilson_lo) > 1e-12 or \
                abs(x["cost_usd"] - row.cost_usd) > 1e-9 * max(1, abs(row.cost_usd)) or \
                x["prompt_tokens"] != row.prompt_tokens:
            sys.exit(f"mismatch for {m}/{s}: report {x} vs baseline {row.to_dict()}")


def main():
    root = "/dev/shm" if os.path.isdir("/dev/shm") else None
    tmp = tempfile.mkdtemp(prefix="bench-report-", dir=root)
    try:
        text_kb = 4 if FULL else 1
        files = [os.path.join(tmp, f"c{i}.h5") for i in range(3 if FULL else 1)]
        made = [synth(p, i + 1, text_kb) for i, p in enumerate(files)]
        sizes = sum(os.path.getsize(p) for p in files) / 1e6
        print(f"bench_report_10k: {'full' if FULL else 'quick'} mode; {len(files)} file(s) of "
              f"{N} task keys written by store_synth in {sum(made):.1f} s ({sizes:.1f} MB); "
              f"median of {REPEATS}")
        sets = [("1 file", files[:1])] + ([(f"{len(files)} files merged", files)] if FULL else [])
        for label, paths in sets:
            rep, rep_json, rep_csv, base = [], [], [], []
            csv = os.path.join(tmp, "summary.csv")
            for _ in range(REPEATS):  # interleaved, so load from other work hits all alike
                rep.append(timed(lambda: run_report(paths))[0])
                t, out = timed(lambda: run_report(paths, "--format", "json"))
                rep_json.append(t)
                rep_csv.append(timed(lambda: run_report(paths, "--csv", csv))[0])
                tb, g = timed(lambda: baseline(paths))
                base.append(tb)
            js = json.loads(out)
            check(js, g)
            rows = len(pd.read_csv(csv))
            med = statistics.median
            print(f"  {label}: {js['final_tasks']} final tasks")
            print(f"    llm4hep report (table):         {med(rep):7.3f} s")
            print(f"    llm4hep report --format json:   {med(rep_json):7.3f} s")
            print(f"    llm4hep report --csv ({rows} rows): {med(rep_csv):7.3f} s")
            print(f"    baseline h5py+pandas group-by:  {med(base):7.3f} s (Python start-up excluded)")
            print(f"    ratio report/baseline: {med(rep) / med(base):.2f}; target < 1 s: "
                  f"{'met' if med(rep) < 1.0 else 'NOT met'} (max of runs {max(rep):.3f} s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
