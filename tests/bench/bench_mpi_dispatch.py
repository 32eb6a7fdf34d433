"""Campaign runner benchmarks (issue 7), each against a baseline measured in
the same run:

  (b) rank 0's dispatch capacity: empty in-rank tasks, no child
      (LLM4HEP_EMPTY_TASKS=1), against GNU parallel starting empty jobs;
  (c) per-task overhead of spawn, staging and storing, real tasks of the arith
      suite (the coordinator's own figure: dispatch -> journaled, minus the
      task's wall time);
  (d) rank 0's CPU share and peak memory while dispatching;
  (e) the task child's start (exec + dynamic loading), llm4hep-task (no MPI,
      issue 17 §4) against the llm4hep binary task children started from
      before (MPI, HDF5, curl), interleaved in the same run.

Quick mode (default, CI): 2,000 empty tasks on 4 ranks, 12 real tasks.
Full mode (LLM4HEP_BENCH_FULL=1): 10,002 empty tasks on 16 ranks, 60 real tasks.
Prints figures and ratios; asserts only that the runs succeeded."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from campaign_util import MPIEXEC, make_campaign, mpi_env, run_sweep  # noqa: E402

FULL = os.environ.get("LLM4HEP_BENCH_FULL") == "1"
# (c) against another build in the same run (e.g. main's llm4hep, before
# issue 17 §4): the same real campaign, alternating builds.
BASELINE_BIN = os.environ.get("LLM4HEP_BENCH_BASELINE_BIN")


def figures(out):
    m = re.search(r"run figures: (\d+) tasks in ([\d.]+) s \(([\d.]+) tasks/s\); overhead per task "
                  r"\(spawn, staging, storing\) ([\d.]+) ms; rank 0: ([\d.]+) us handling per task "
                  r"\(capacity (\d+) tasks/s\), ([\d.]+) s CPU in the loop \((\d+)%\), "
                  r"peak memory ([\d.]+) MB", out)
    assert m, out
    return dict(tasks=int(m[1]), seconds=float(m[2]), rate=float(m[3]), overhead_ms=float(m[4]),
                us_per_task=float(m[5]), capacity=int(m[6]), cpu_s=float(m[7]),
                cpu_pct=int(m[8]), rss_mb=float(m[9]))


def gnu_parallel_rate(jobs):
    if not shutil.which("parallel"):
        return None
    t0 = time.time()
    subprocess.run(["parallel", "-j", "16", "true", ":::"] + [str(i) for i in range(jobs)],
                   check=True, capture_output=True)
    return jobs / (time.time() - t0)


def start_cost(argv, n):
    """Median wall and CPU (ms) of starting argv to its exit, n runs."""
    walls, cpus = [], []
    for _ in range(n):
        t = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, {}, file_actions=[
            (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0)])
        _, _, ru = os.wait4(pid, 0)
        walls.append((time.perf_counter() - t) * 1000)
        cpus.append((ru.ru_utime + ru.ru_stime) * 1000)
    walls.sort()
    cpus.sort()
    return walls[n // 2], cpus[n // 2]


def task_start():
    build = os.environ.get("LLM4HEP_BUILD_DIR", "build")
    task, full = os.path.join(build, "llm4hep_task"), os.path.join(build, "llm4hep")
    if not (os.access(task, os.X_OK) and os.access(full, os.X_OK)):
        print(f"(e) task child start: {task} or {full} not built; skipped")
        return
    rounds, n = (10, 20) if FULL else (3, 10)
    new, old = [], []
    for _ in range(rounds):  # interleaved: both see the same load
        new.append(start_cost([task], n))  # usage error after loading: exit 2
        old.append(start_cost([full, "--version"], n))
    nw, nc = sorted(x[0] for x in new)[rounds // 2], sorted(x[1] for x in new)[rounds // 2]
    ow, oc = sorted(x[0] for x in old)[rounds // 2], sorted(x[1] for x in old)[rounds // 2]
    print(f"(e) task child start (exec + loading, {rounds} x {n} each, load "
          f"{os.getloadavg()[0]:.1f}): llm4hep-task {nw:.2f} ms (cpu {nc:.2f} ms) against the "
          f"MPI-linked llm4hep {ow:.2f} ms (cpu {oc:.2f} ms): saves {ow - nw:.2f} ms wall, "
          f"{oc - nc:.2f} ms cpu per task (ratio {nw / ow:.2f})")


def main():
    task_start()
    tmp = tempfile.mkdtemp(prefix="bench-mpi-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    try:
        trials = 1667 if FULL else 334
        ranks = 16 if FULL else 4
        cfg = make_campaign(tmp + "/empty", ("scripted/good", "scripted/wrong", "scripted/slow"),
                            trials=trials, name="bench-empty")
        r = run_sweep(cfg, ranks, env={"LLM4HEP_EMPTY_TASKS": "1"}, timeout=900)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        f = figures(r.stdout)
        base = gnu_parallel_rate(2000 if FULL else 300)
        print(f"(b) dispatch: {f['tasks']} empty tasks on {ranks} ranks in {f['seconds']:.2f} s = "
              f"{f['rate']:.0f} tasks/s achieved (bound by the round trip to {ranks - 1} slots on "
              f"this machine's cores); rank 0 is busy {f['us_per_task']:.1f} us per task "
              f"(receive, journal with fsync, progress line, next dispatch): a capacity of "
              f"{f['capacity']} tasks/s (target >= 20,000)")
        if base:
            print(f"    GNU parallel, empty jobs -j 16, same machine: {base:.0f} jobs/s; "
                  f"ratio {f['rate'] / base:.1f}x")
        print(f"(d) rank 0 at {f['tasks']} tasks: {f['cpu_s']:.2f} s CPU ({f['cpu_pct']}% of the "
              f"run, idle polling included), peak memory {f['rss_mb']:.1f} MB")

        real_trials = 10 if FULL else 2
        builds = [("this", None)] + ([("baseline", BASELINE_BIN)] if BASELINE_BIN else [])
        rounds = 4 if BASELINE_BIN else 1
        got = {name: [] for name, _ in builds}
        for k in range(rounds):
            for name, binary in (builds if k % 2 == 0 else builds[::-1]):  # order alternates
                cfg = make_campaign(f"{tmp}/real-{name}-{k}",
                                    ("scripted/good", "scripted/wrong", "scripted/good"),
                                    trials=real_trials, name="bench-real")
                t0 = time.time()
                if binary:
                    r = subprocess.run([MPIEXEC, "-n", "4", binary, "sweep", cfg],
                                       capture_output=True, text=True, timeout=900,
                                       env=mpi_env())
                else:
                    r = run_sweep(cfg, 4, timeout=900)
                wall = time.time() - t0
                assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
                f = figures(r.stdout)
                got[name].append(f["overhead_ms"])
                print(f"(c) {name}: per-task overhead (spawn, staging, storing): "
                      f"{f['overhead_ms']:.1f} ms over {f['tasks']} real tasks (target <= 20 ms at "
                      f"load 2; load now {os.getloadavg()[0]:.1f}); whole sweep {wall:.1f} s")
        if BASELINE_BIN:  # median and best: the load of a shared machine only adds
            for what, fn in (("median", lambda v: sorted(v)[len(v) // 2]), ("best", min)):
                t, bl = fn(got["this"]), fn(got["baseline"])
                print(f"(c) per-task overhead, {what} of {rounds} alternating runs: this {t:.1f} ms, "
                      f"baseline {bl:.1f} ms: {t - bl:+.1f} ms ({t / bl:.2f}x)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
