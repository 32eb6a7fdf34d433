"""test_job_kill.py — issue 14 §3: nothing of a job outlives it. The sweep
runs as Slurm runs a job (its own PID namespace, campaign_util.Job); one
process of each kind is killed with SIGKILL alone — mpirun, rank 0, a worker
rank, a task child, bwrap, the code — and then nothing of the job may be
left running (the product's own mechanisms, not the namespace, must see to
it), and a resume completes the campaign with nothing lost or counted twice.
Every wait is for an event (a process appearing, a line, the launcher's
exit) with a generous deadline."""
import os
import shutil
import subprocess
import tempfile

import pytest

from campaign_util import (BIN, Job, final_rows, keys_unique, make_campaign, output_of,
                           run_sweep, tasks)

TRIALS = 3          # slow model: 2 steps x 3 trials = 6 tasks of ~2 s
RANKS = 3           # rank 0 coordinates, ranks 1 and 2 run tasks
SPAWN = os.path.join(os.environ.get("LLM4HEP_TOOLS_DIR") or os.path.join(
    os.environ.get("LLM4HEP_BUILD_DIR", "build"), "tests", "tools"), "exec_spawn")


def rank_of(pid):
    try:
        env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
    except OSError:
        return None
    for kv in env:
        if kv.startswith(b"OMPI_COMM_WORLD_RANK=") or kv.startswith(b"PMI_RANK="):
            return int(kv.split(b"=", 1)[1])
    return None


def is_rank(argv):
    return len(argv) > 1 and argv[0].endswith("llm4hep") and argv[1] == "sweep"


KINDS = {
    "mpirun": lambda job, pid, ppid, argv: ppid == job.init,
    "rank0": lambda job, pid, ppid, argv: is_rank(argv) and rank_of(pid) == 0,
    "worker_rank": lambda job, pid, ppid, argv: is_rank(argv) and rank_of(pid) == 1,
    "task_child": lambda job, pid, ppid, argv: argv[1:2] == ["task"],
    "bwrap": lambda job, pid, ppid, argv: os.path.basename(argv[0]) == "bwrap",
    "code": lambda job, pid, ppid, argv: os.path.basename(argv[0]).startswith("python")
    and any("generated_code/iter_" in a for a in argv),
}


def assert_complete(cfg, n, all_success):
    """Resume to the end; then every planned task has exactly one final row,
    measured (no infrastructure status left) — a success unless the kill hit
    the code or its sandbox, which the model's task then had to live with."""
    r = run_sweep(cfg, RANKS, timeout=900)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    rows = final_rows(output_of(cfg))
    assert len(rows) == n and keys_unique(rows), [(bytes(x["key"]), x["status"]) for x in rows]
    statuses = [x["status"].decode() for x in rows]
    assert not any(s.startswith("error_") for s in statuses), statuses
    if all_success:
        assert statuses == ["success"] * n, statuses
    # a second resume finds nothing to do: nothing was counted twice
    r = run_sweep(cfg, RANKS, timeout=300)
    assert r.returncode in (0, 1) and "0 to run" in r.stdout, r.stdout + r.stderr
    assert len(final_rows(output_of(cfg))) == n


@pytest.mark.parametrize("kind", list(KINDS))
def test_kill9_of_one_process_leaves_nothing_and_resume_completes(kind):
    cfg = make_campaign(None, ("scripted/slow",), trials=TRIALS, name=f"kill-{kind}")
    job = Job(cfg, RANKS)
    try:
        job.wait_for("campaign kill-", 300)  # rank 0 has started dispatching
        want = KINDS[kind]
        pid, _, argv = job.find(lambda p, pp, a: want(job, p, pp, a), 300, kind)
        job.kill_one(pid)
        rc = job.wait_launcher(300)
        left = job.wait_empty(60)
        assert left == [], f"after kill -9 of {kind} ({argv}): still alive {left}"
        if kind in ("task_child", "bwrap", "code"):
            # a lost task is the campaign's to redo, never the end of it
            assert rc in (0, 1, 3), job.output()
    finally:
        job.kill_whole()
    assert_complete(cfg, 2 * TRIALS, all_success=kind not in ("bwrap", "code"))


# A bubblewrap whose sandbox leaves one process behind that does not die
# with it: what bwrap's inner process is when its outer process dies before
# the inner one armed --die-with-parent (the window seen after kill -9 of
# mpirun), in a session of its own as code's daemon would be (so no kill of
# a process group reaches it). The sweep's own trial run goes straight to
# bubblewrap; a task's run starts the leak, then bubblewrap, then holds
# until the test releases it (so the kill always finds the leak alive), and
# only then ends the leak.
LEAKY_BWRAP = """#!/bin/sh
case "$*" in
*generated_code/iter_*) ;;
*) exec %(real)s "$@" ;;
esac
setsid sleep 6171 &
leak=$!
%(real)s "$@"
while [ ! -e %(dir)s/release ]; do sleep 0.1; done
kill $leak
"""


def ancestors(pid):
    """pid's parent, grandparent, ... as [(pid, argv)], up to init."""
    out = []
    while pid > 1:
        try:
            st = open(f"/proc/{pid}/stat").read()
            pid = int(st[st.rindex(")") + 2:].split()[1])
            argv = open(f"/proc/{pid}/cmdline", "rb").read().decode().split("\0")
        except (OSError, ValueError):
            break
        out.append((pid, argv))
    return out


@pytest.mark.parametrize("kind", ["worker_rank", "mpirun", "bwrap"])
def test_what_a_sandbox_leaves_dies_with_its_run_or_rank(kind):
    """Issue 14 §3: a sandbox's process whose own death signal missed its
    parent's death comes back to the task process, which ends it — when the
    run ends (here: its bubblewrap killed alone, the task process lives on)
    and when the task process's rank dies (alone, or with mpirun)."""
    real = shutil.which("bwrap")
    if not real:
        pytest.fail("bubblewrap is part of the test command's packages")
    d = tempfile.mkdtemp(prefix="leaky-bwrap-", dir="/tmp")
    os.chmod(d, 0o755)  # the sandbox's uid starts bubblewrap
    fake = os.path.join(d, "bwrap")
    with open(fake, "w") as f:
        f.write(LEAKY_BWRAP % {"real": real, "dir": d})
    os.chmod(fake, 0o755)
    cfg = make_campaign(None, ("scripted/slow",), trials=1, name=f"leak-{kind}")
    job = Job(cfg, RANKS, env={"LLM4HEP_BWRAP": fake})
    try:
        leak, sandbox, _ = job.find(lambda p, pp, a: a[:2] == ["sleep", "6171"], 300, "the leak")
        if kind == "mpirun":
            target = job.find(lambda p, pp, a: KINDS["mpirun"](job, p, pp, a), 60, "mpirun")[0]
        elif kind == "bwrap":
            target = sandbox
        else:
            target = next(p for p, a in ancestors(leak) if is_rank(a))
        job.kill_one(target)
        if kind == "bwrap":
            # the run ended: its leftover must go now, while the campaign runs
            Job._wait(lambda: not any(m[0] == leak for m in job.members()), 60,
                      "the end of the killed run's leftover")
            with open(os.path.join(d, "release"), "w"):
                pass  # the other runs may end now
        rc = job.wait_launcher(300)
        left = job.wait_empty(60)
        assert left == [], f"after kill -9 of {kind}: still alive {left}"
        if kind == "bwrap":
            assert rc in (0, 1), job.output()
    finally:
        job.kill_whole()
        shutil.rmtree(d, ignore_errors=True)


def test_spawn_runs_nothing_when_its_spawner_is_gone(tmp_path):
    """The getppid race: a spawner that died before the death signal was
    armed leaves an orphan, which must not run the code. (The exec room's
    own spawn, which replaced setpriv + llm4hep-lifeline: issue 17 §4.)"""
    flag = tmp_path / "ran"
    # told a spawner that is not its parent (as an orphan's is init's or a
    # subreaper's): it must not run
    r = subprocess.run([SPAWN, "--parent", str(os.getppid()), "/usr/bin/touch", str(flag)],
                       timeout=60, capture_output=True, text=True)
    assert r.returncode == 125 and "nothing ran" in r.stderr and not flag.exists(), r.stderr
    # its real parent: it runs
    r = subprocess.run([SPAWN, "/usr/bin/touch", str(flag)], timeout=60)
    assert r.returncode == 0 and flag.exists()


def test_spawned_child_dies_with_its_spawner(tmp_path):
    """Armed, the death signal kills the program when its spawner dies."""
    r = subprocess.run([SPAWN, "--detach", "/usr/bin/sleep", "600"], timeout=60,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    pid = int(r.stdout)
    import time
    end = time.monotonic() + 60
    alive = True
    while time.monotonic() < end:
        try:
            st = open(f"/proc/{pid}/stat").read()
            alive = st[st.rindex(")") + 2] not in "ZX"
        except OSError:
            alive = False
        if not alive:
            break
        time.sleep(0.05)
    assert not alive, "the spawned program outlived its spawner"
