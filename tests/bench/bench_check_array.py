"""bench_check_array — the array check (C, streaming) against numpy.allclose
on the same two float64 arrays in the same run.

Quick mode (default): two ~16 MB arrays. Full mode (LLM4HEP_BENCH_FULL=1):
two 1 GiB arrays, the issue's figure (numpy ~3.3 s and 2.5 GB extra; target:
the check >= 5x faster with <= 64 MB extra memory).

Each contender runs as its own child process, best of two (full) or three
(quick) runs. numpy's wall and CPU time are measured inside the child around
np.load of both files + allclose (Python start-up and import not charged);
the check's are the `check_array` driver's whole process (start-up included). Extra memory is the child's
peak RSS (measured by /usr/bin/time) minus that of the same program doing
nothing useful (Python importing numpy / the driver on two 1-element files). The candidate differs
from the reference by a relative 1e-7, so every value is compared and passes.

Asserted: both agree the arrays match, and the C check stays within 64 MB of
extra memory. Speed is printed as ratios of wall and of CPU time (user +
system, less sensitive to other load);
LLM4HEP_BENCH_STRICT=1 also fails the run when the wall-time ratio is below
5x (the machine is shared, so not by default).
"""
import os
import resource
import subprocess
import sys
import tempfile
import time

PY = os.environ.get("LLM4HEP_PYTHON", "/usr/bin/python3")
TOOLS = os.environ.get("LLM4HEP_TOOLS_DIR", "")
FULL = os.environ.get("LLM4HEP_BENCH_FULL") == "1"
STRICT = os.environ.get("LLM4HEP_BENCH_STRICT") == "1"
COLS = 32
ROWS = (1 << 30) // 8 // COLS if FULL else (16 << 20) // 8 // COLS

GEN = r"""
import sys, numpy as np
rows, cols, ref, cand, small_ref, small_cand = int(sys.argv[1]), int(sys.argv[2]), *sys.argv[3:7]
rng = np.random.default_rng(7)
# written block by block so the generator itself stays small
for path, scale in ((ref, 0.0), (cand, 1e-7)):
    rng = np.random.default_rng(7)
    hdr = {"descr": "<f8", "fortran_order": False, "shape": (rows, cols)}
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, hdr)
        step = 1 << 16
        for r0 in range(0, rows, step):
            n = min(step, rows - r0)
            a = rng.normal(100.0, 30.0, (n, cols)) * np.logspace(-3, 3, cols)
            f.write((a * (1.0 + scale)).astype("<f8").tobytes())
np.save(small_ref, np.ones((1, 1)))
np.save(small_cand, np.ones((1, 1)))
"""

NUMPY_JOB = r"""
import sys, time, numpy as np
if sys.argv[1] != "-":
    t0, c0 = time.perf_counter(), time.process_time()
    a = np.load(sys.argv[1]); b = np.load(sys.argv[2])
    ok = np.allclose(a, b, rtol=5e-4, atol=1e-9, equal_nan=True)
    print("match" if ok else "differ", time.perf_counter() - t0, time.process_time() - c0)
"""


def run_child(argv):
    """Run argv under /usr/bin/time (a small parent: Linux reports a child's
    peak RSS as at least its parent's at fork, so a child of this Python
    would inherit our own); return (wall seconds, peak RSS in kB, stdout)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        t0 = time.perf_counter()
        p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", tf.name, *argv],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.communicate()
        wall = time.perf_counter() - t0
        # communicate() reaped it; the CPU time of /usr/bin/time's child is in ours
        code = p.returncode
        if code not in (0, 1):
            sys.exit(f"{argv[0]} failed ({code}): {err.decode(errors='replace')[:500]}")
        rss_kb = int(tf.read().strip().splitlines()[-1])
    return wall, rss_kb, out.decode(errors="replace")


def cpu_of(fn):
    """Run fn(); return (its result, CPU seconds of the children it reaped)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = fn()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    tool = os.path.join(TOOLS, "check_array")
    if not os.access(tool, os.X_OK):
        sys.exit(f"check_array driver not found in LLM4HEP_TOOLS_DIR={TOOLS!r}")
    with tempfile.TemporaryDirectory(prefix="bench_check_") as d:
        ref, cand = os.path.join(d, "ref.npy"), os.path.join(d, "cand.npy")
        sref, scand = os.path.join(d, "sref.npy"), os.path.join(d, "scand.npy")
        subprocess.run([PY, "-c", GEN, str(ROWS), str(COLS), ref, cand, sref, scand], check=True)
        size_mb = os.path.getsize(ref) / 2**20
        for path in (ref, cand):  # both contenders read from the page cache
            with open(path, "rb") as f:
                while f.read(1 << 24):
                    pass

        runs = 2 if FULL else 3
        _, np_base_kb, _ = run_child([PY, "-c", NUMPY_JOB, "-", "-"])
        np_runs = [run_child([PY, "-c", NUMPY_JOB, ref, cand]) for _ in range(runs)]
        # timed inside the child: Python's start-up and import not charged
        np_wall = min(float(r[2].split()[1]) for r in np_runs)
        np_cpu = min(float(r[2].split()[2]) for r in np_runs)
        np_kb = max(r[1] for r in np_runs)
        np_out = np_runs[0][2]
        _, c_base_kb, _ = run_child([tool, scand, sref, "4", "1e-9"])
        c_runs = [cpu_of(lambda: run_child([tool, cand, ref, "4", "1e-9"])) for _ in range(runs)]
        c_wall = min(r[0][0] for r in c_runs)  # the whole process, start-up included
        c_cpu = min(r[1] for r in c_runs)
        c_kb = max(r[0][1] for r in c_runs)
        c_out = c_runs[0][0][2]

    np_extra = (np_kb - np_base_kb) / 1024
    c_extra = (c_kb - c_base_kb) / 1024
    speedup = np_wall / c_wall
    print(f"mode: {'full' if FULL else 'quick'}; two float64 arrays of {ROWS} x {COLS} ({size_mb:.0f} MB each)")
    print(f"numpy.allclose (load + compare): {np_wall:8.3f} s wall {np_cpu:8.3f} s CPU   "
          f"extra memory {np_extra:8.1f} MB")
    print(f"llm4hep array check (streaming): {c_wall:8.3f} s wall {c_cpu:8.3f} s CPU   "
          f"extra memory {c_extra:8.1f} MB")
    print(f"load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          "(wall times on a shared machine vary; CPU times less so)")
    print(f"speed-up over numpy: {speedup:.1f}x wall, {np_cpu / max(c_cpu, 1e-3):.1f}x CPU "
          "(target >= 5x); memory ratio numpy/check: "
          f"{np_extra / max(c_extra, 1.0):.0f}x (target: check <= 64 MB)")
    if "match" not in np_out or '"passed":true' not in c_out:
        sys.exit(f"the two disagree or do not match: numpy={np_out.strip()!r} check={c_out[:300]!r}")
    if c_extra > 64:
        sys.exit(f"FAIL: the array check used {c_extra:.1f} MB extra (limit 64 MB)")
    if STRICT and speedup < 5:
        sys.exit(f"FAIL: speed-up {speedup:.1f}x below the 5x target")


if __name__ == "__main__":
    main()
