"""Config loading + planning at campaign scale, through `llm4hep sweep --dry-run`.

Baseline (same run): the 60-task examples/four-models.yml. Measured: a paired
campaign from supervisors_file x coders_file of N x N models (N*N pairs x 5
steps x 3 trials). Quick mode N = 20 (6,000 tasks); LLM4HEP_BENCH_FULL=1 adds
N = 100 (150,000 tasks) and N = 300 (1.35 M tasks). Prints wall time and the
ratio to the baseline; asserts nothing about time.
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from conftest import BIN, SRC as SRC_DIR  # noqa: E402

SRC = Path(SRC_DIR)


def best_of(args, runs=3):
    best = None
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run([BIN, "sweep", *args, "--dry-run"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        dt = time.perf_counter() - t
        if r.returncode != 0:
            sys.exit("dry run failed: " + r.stderr)
        best = dt if best is None else min(best, dt)
    return best, r.stdout.splitlines()[0]


def main():
    sizes = [20] + ([100, 300] if os.environ.get("LLM4HEP_BENCH_FULL") == "1" else [])
    base, head = best_of([str(SRC / "examples" / "four-models.yml")])
    print("baseline  %-70s %8.3f s" % (head, base))
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        for n in sizes:
            (d / "s.txt").write_text("".join("vendor/sup-%d\n" % i for i in range(n)))
            (d / "c.txt").write_text("".join("vendor/coder-%d\n" % i for i in range(n)))
            cfg = d / ("big%d.yml" % n)
            cfg.write_text("name: big%d\nsuite: %s\ntrials: 3\nsupervisors_file: s.txt\n"
                           "coders_file: c.txt\nendpoints: {e: {base_url: https://x.invalid}}\n"
                           "model_defaults: {endpoint: e}\n"
                           % (n, SRC / "reference" / "hgg" / "suite.yml"))
            t, head = best_of([str(cfg)], runs=1 if n > 100 else 3)
            print("N=%-6d   %-70s %8.3f s  x%.1f baseline" % (n, head, t, t / base))


if __name__ == "__main__":
    main()
