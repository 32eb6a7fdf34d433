"""Start-up overhead of the sandbox against plain python3 on the same script,
measured in the same run (issue 5, issue 17 §4: targets <= 10 ms wall and
<= 8 ms CPU added by bwrap).

Each sandboxed run is paired with a plain run just before it, from the same
exec_run process (--with-plain): plain is posix_spawn + waitpid of
`python3 hello.py`, sandboxed is spawn to reap as the sandbox measures it, so
both see the same machine load; the overhead is the median of the per-pair
differences. `call` is the whole l4h_sandbox_run (slot, helpers,
supervision, file listing). On a shared, loaded machine wall times stretch
with the load, so the CPU time the sandbox adds (user + system of the whole
chain — bwrap, the launcher — against python alone, from wait4) is
printed too: it is the work, independent of the wait. Rounds alternate the
backends.

Baseline build in the same run: LLM4HEP_BENCH_BASELINE_EXEC_RUN=PATH names
the exec_run of another build (e.g. main's, before issue 17 §4: set
LLM4HEP_LIFELINE for it if it needs its llm4hep-lifeline); its batches
alternate with ours in every round, and the differences of the overheads
(ours - baseline) are printed.

Quick mode (default): 3 rounds x 10 runs, a few seconds.
Full mode (LLM4HEP_BENCH_FULL=1): 10 rounds x 30 runs.
Prints medians, the overhead in ms and the ratio; exits 0 (figures, not a
pass/fail: the machine is shared), non-zero only when a run fails.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

TOOLS = os.environ.get("LLM4HEP_TOOLS_DIR") or os.path.join(
    os.environ.get("LLM4HEP_BUILD_DIR", "build"), "tests", "tools")
DRIVER = os.path.join(TOOLS, "exec_run")
PYTHON = os.environ.get("LLM4HEP_PYTHON", "/usr/bin/python3")
BASELINE = os.environ.get("LLM4HEP_BENCH_BASELINE_EXEC_RUN")
FULL = os.environ.get("LLM4HEP_BENCH_FULL") == "1"
ROUNDS, RUNS = (10, 30) if FULL else (3, 10)


def batch(base, script, *flags, driver=DRIVER):
    cmd = [driver, "--python", PYTHON, "--scratch", base, "--runs", str(RUNS), *flags, script]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        sys.exit(f"bench_exec_startup: {' '.join(cmd)} failed: {p.stderr}")
    runs = json.loads(p.stdout)["runs"]
    for r in runs:
        if r["exit_code"] != 0:
            sys.exit(f"bench_exec_startup: a run failed: {r}")
    return runs


def main():
    base = tempfile.mkdtemp(prefix="l4h-bench-exec-")
    os.chmod(base, 0o755)
    script = os.path.join(base, "hello.py")
    with open(script, "w") as f:
        f.write("print('hello')\n")
    os.chmod(script, 0o644)
    builds = {"this": DRIVER, **({"baseline": BASELINE} if BASELINE else {})}
    runs = {(b, iso): [] for b in builds for iso in ("bwrap", "rlimit")}
    for _ in range(ROUNDS):
        for iso in ("bwrap", "rlimit"):
            for b, driver in builds.items():
                runs[b, iso] += batch(base, script, "--isolation", iso, "--with-plain",
                                      driver=driver)
    subprocess.run(["rm", "-rf", base])
    mode = "full" if FULL else "quick"
    print(f"bench_exec_startup ({mode}: {ROUNDS} rounds x {RUNS} pairs of `python hello.py`, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    over = {}
    for (b, iso), rs in runs.items():
        plain = statistics.median(r["plain_wall_s"] for r in rs) * 1000
        wall = statistics.median(r["wall_s"] for r in rs) * 1000
        call = statistics.median(r["call_s"] for r in rs) * 1000
        ow = statistics.median(r["wall_s"] - r["plain_wall_s"] for r in rs) * 1000
        oc = statistics.median(r["cpu_s"] - r["plain_cpu_s"] for r in rs) * 1000
        over[b, iso] = (ow, oc)
        verdict = ""
        if iso == "bwrap":
            verdict = "  targets <= 10 ms wall, <= 8 ms cpu: " + (
                "met" if ow <= 10 and oc <= 8 else "NOT met")
        print(f"  {b:<8} {iso:<6}: plain {plain:7.2f} ms  sandboxed {wall:7.2f} ms  overhead "
              f"{ow:6.2f} ms (cpu {oc:5.2f} ms)  ratio {wall / plain:5.2f}  whole call "
              f"{call:7.2f} ms{verdict}")
    if BASELINE:
        for iso in ("bwrap", "rlimit"):
            (tw, tc), (bw, bc) = over["this", iso], over["baseline", iso]
            print(f"  {iso:<6} overhead this - baseline: wall {tw - bw:+6.2f} ms, cpu {tc - bc:+6.2f} ms"
                  f"  (this/baseline: wall {tw / bw if bw > 0 else float('nan'):.2f}, cpu "
                  f"{tc / bc if bc > 0 else float('nan'):.2f})")


if __name__ == "__main__":
    main()
