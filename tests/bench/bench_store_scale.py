"""Benchmark: how the results store's costs grow with the campaign (issue 17
section 3). At each size N (task keys; ~1/8 of keys have a second attempt),
measured in one run, each against a baseline of the same run:

  checkpoint   adding 1000 keys to a campaign of N with a checkpoint every
               100 records: seconds per checkpoint. Baseline: the same 1000
               keys added to an empty campaign.
  ckpt+reader  the same while a reader (h5py) holds the results file: the
               checkpoints defer and the final close updates a copy. Baseline:
               the same on an empty campaign.
  annotate     l4h_store_annotate of one task (`llm4hep annotate` calls it
               per task). Baseline: the same on the 2,000-key campaign left
               by the baseline's checkpoint runs.
  resume       l4h_store_open of the N-key campaign (what `sweep` does on
               resume). Baseline: reading the journal's bytes once.
  peak RSS     the resuming process's peak resident set (rank 0's store part).
               Baseline: the same process on an empty campaign.
  report       `llm4hep report FILE`. Baseline: h5py + pandas reading /tasks.
  llm4hep.py   scripts/llm4hep.py open_results(FILE). Baseline: as report.

All times are CPU seconds (user + system) of the process doing the work:
the benchmark runs on shared machines, where wall time measures the load of
others. And the growth ratio of each between the two sizes (a cost that grows with
the campaign shows a ratio near the size ratio; a constant cost near 1).
Campaigns are written by tests/tools/store_synth with small texts (--text-kb
1) in /dev/shm when it exists (fsyncs cost little there).

Quick mode (default, CI): 2,000 and 10,000 keys, seconds.
Full mode (LLM4HEP_BENCH_FULL=1): 10,000 and 100,000 keys.
"""

import os
import re
import resource
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
from conftest import BIN, TOOLS  # noqa: E402,F401 (conftest puts scripts/ on sys.path)
SIZES = [10000, 100000] if FULL else [2000, 10000]
ADD = 1000
EVERY = 100
REPEATS = 3
TEXT_KB = 1
ANNOTATE = 20

import llm4hep  # noqa: E402


def synth(h5, tasks, *extra):
    """Run store_synth; its cost line as a dict."""
    r = subprocess.run([os.path.join(TOOLS, "store_synth"), h5, "--tasks", str(tasks),
                        "--text-kb", str(TEXT_KB), *map(str, extra)],
                       capture_output=True, text=True, timeout=7200)
    if r.returncode != 0:
        sys.exit(f"store_synth failed: {r.stderr}")
    m = re.search(r"open [\d.]+ s \(cpu ([\d.]+) s\), (\d+) checkpoints in [\d.]+ s "
                  r"\(cpu ([\d.]+) s\), close [\d.]+ s \(cpu ([\d.]+) s\), max rss (\d+) kB",
                  r.stdout)
    if not m:
        sys.exit(f"store_synth printed no cost line: {r.stdout}")
    return {"open": float(m.group(1)), "n_ckpt": int(m.group(2)), "ckpt": float(m.group(3)),
            "close": float(m.group(4)), "rss_kb": int(m.group(5))}


def timed(fn):
    """CPU seconds fn used, its own and its waited-for children's (the
    machine is shared: wall time would measure the load of others)."""
    def cpu():
        c = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + c.ru_utime + c.ru_stime
    t0 = cpu()
    fn()
    return cpu() - t0


def read_bytes(path):
    with open(path, "rb") as f:
        while f.read(1 << 20):
            pass


def tasks_frame(h5):
    with h5py.File(h5, "r") as f:
        return pd.DataFrame(f["tasks"][:])


def report(h5):
    r = subprocess.run([BIN, "report", h5], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        sys.exit(f"llm4hep report failed: {r.stderr}")


def per_ckpt(c):
    return c["ckpt"] / max(c["n_ckpt"], 1)


def measure(tmp, n):
    """All figures at size n (n = 0: the baselines that depend on size)."""
    d = os.path.join(tmp, f"n{n}")
    os.makedirs(d)
    h5 = os.path.join(d, "c.h5")
    t_build = timed(lambda: synth(h5, n, "--checkpoint-every", 0)) if n else 0.0
    res = {"build_s": t_build}
    # resume: open (and close) of the n-key campaign, adding nothing
    opens, rss = [], []
    for _ in range(REPEATS):
        c = synth(h5, n, "--checkpoint-every", 0)
        opens.append(c["open"])
        rss.append(c["rss_kb"])
    res["resume"] = statistics.median(opens)
    res["rss_kb"] = max(rss)
    res["journal_read"] = statistics.median(
        timed(lambda: read_bytes(h5 + ".journal")) for _ in range(REPEATS)) if n else 0.0
    res["journal_mb"] = os.path.getsize(h5 + ".journal") / 1e6 if n else 0.0
    res["file_mb"] = os.path.getsize(h5) / 1e6 if n else 0.0
    if n:
        res["report"] = statistics.median(timed(lambda: report(h5)) for _ in range(REPEATS))
        res["pyopen"] = statistics.median(
            timed(lambda: llm4hep.open_results(h5)) for _ in range(REPEATS))
        res["pandas"] = statistics.median(timed(lambda: tasks_frame(h5)) for _ in range(REPEATS))
    # checkpoints while adding ADD keys (the file now has n keys)
    c = synth(h5, n + ADD, "--checkpoint-every", EVERY)
    res["ckpt"] = per_ckpt(c)
    res["ckpt_n"] = c["n_ckpt"]
    res["ckpt_rss_kb"] = c["rss_kb"]
    # the same with a reader holding the file: deferred, the close updates a copy
    with h5py.File(h5, "r") as f:
        _ = f["tasks"].shape
        c = synth(h5, n + 2 * ADD, "--checkpoint-every", EVERY)
    res["reader_ckpt"] = per_ckpt(c)
    res["reader_close"] = c["close"]
    # annotating task after task (llm4hep annotate): one store call each
    r = subprocess.run([os.path.join(TOOLS, "store_synth"), h5, "--tasks", str(n + 2 * ADD),
                        "--text-kb", str(TEXT_KB), "--checkpoint-every", "0", "--annotate",
                        str(ANNOTATE)], capture_output=True, text=True, timeout=7200)
    m = re.search(r"annotate (\d+) tasks in [\d.]+ s \(cpu ([\d.]+) s\)", r.stdout)
    if r.returncode != 0 or not m:
        sys.exit(f"store_synth --annotate failed: {r.stdout} {r.stderr}")
    res["annotate"] = float(m.group(2)) / int(m.group(1))
    return res


def main():
    root = "/dev/shm" if os.path.isdir("/dev/shm") else None
    tmp = tempfile.mkdtemp(prefix="bench-store-scale-", dir=root)
    t0 = time.perf_counter()
    try:
        base = measure(tmp, 0)
        got = {n: measure(tmp, n) for n in SIZES}
        a, b = SIZES
        print(f"bench_store_scale: {'full' if FULL else 'quick'} mode, sizes {a} and {b} task "
              f"keys (--text-kb {TEXT_KB}), {ADD} keys added per checkpoint run, a checkpoint "
              f"every {EVERY} records, median of {REPEATS}")
        for n in SIZES:
            r = got[n]
            print(f"  N={n}: journal {r['journal_mb']:.1f} MB, results file {r['file_mb']:.1f} MB "
                  f"(written in {r['build_s']:.1f} s)")
        rows = [
            ("checkpoint (s each)", "ckpt", lambda n: base["ckpt"], "same on empty campaign"),
            ("ckpt, reader holds (s each)", "reader_ckpt", lambda n: base["reader_ckpt"],
             "same on empty campaign"),
            ("close, reader holds (s)", "reader_close", lambda n: base["reader_close"],
             "same on empty campaign"),
            ("annotate (s each)", "annotate", lambda n: base["annotate"],
             "same on 2000-key campaign"),
            ("resume: store open (s)", "resume", lambda n: got[n]["journal_read"],
             "read journal bytes once"),
            ("peak RSS resume (MB)", "rss_kb", lambda n: base["rss_kb"], "empty campaign"),
            ("peak RSS checkpoints (MB)", "ckpt_rss_kb", lambda n: base["ckpt_rss_kb"],
             "empty campaign"),
            ("llm4hep report (s)", "report", lambda n: got[n]["pandas"], "h5py+pandas /tasks"),
            ("llm4hep.py open (s)", "pyopen", lambda n: got[n]["pandas"], "h5py+pandas /tasks"),
        ]
        print(f"  CPU seconds (user+system); peak RSS = VmHWM of the store_synth process")
        print(f"  {'':30s} {'N=' + str(a):>22s} {'N=' + str(b):>22s}  growth {b}/{a}  baseline")
        for label, key, bl, what in rows:
            cells = []
            for n in SIZES:
                v, w = got[n][key], bl(n)
                if key.endswith("rss_kb"):
                    v, w = v / 1024, w / 1024
                cells.append(f"{v:9.4f} ({v / w if w else float('nan'):6.2f}x)")
            g = got[b][key] / got[a][key] if got[a][key] else float("nan")
            print(f"  {label:30s} {cells[0]:>22s} {cells[1]:>22s}  {g:8.2f}       {what}")
        print(f"  (x: ratio to the baseline; growth: value at {b} / value at {a}, "
              f"size ratio {b / a:.0f})")
        print(f"  bench runtime {time.perf_counter() - t0:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
