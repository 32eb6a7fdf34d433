"""Helpers for campaign tests: a copy of the arith fixture suite in a temp
directory, a config for it, `llm4hep sweep` under mpirun, and reading the
results back with h5py. Not a test file itself (no test_ prefix)."""
import atexit
import os
import shutil
import tempfile
import signal
import subprocess
import textwrap

import h5py
import numpy as np

SRC = os.environ.get("LLM4HEP_SOURCE_DIR",
                     os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN = os.environ.get("LLM4HEP_BIN", os.path.join(SRC, "build", "llm4hep"))
FIXTURE = os.path.join(SRC, "tests", "fixtures", "campaign")


def mpi_env(extra=None):
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_mpi_yield_when_idle="1")
    env.update(extra or {})
    return env


def make_campaign(_unused=None, models=("scripted/good",), trials=1, name="arith-test",
                  endpoints=None, model_defaults=None, extra="", max_iterations=3,
                  limits="{exec_timeout_s: 60, task_wall_s: 300}"):
    """Copy the arith suite into a fresh sandbox-searchable temp dir, build its
    reference, write config.yml there. Returns the config path. (The first
    argument is ignored; callers pass pytest's tmp_path out of habit.)"""
    root = os.path.join(sandbox_tmp(), "camp")
    shutil.copytree(FIXTURE, root)
    endpoints = endpoints or "demo: {provider: scripted, dir: scripted}"
    model_defaults = model_defaults or "{endpoint: demo}"
    cfg = os.path.join(root, "config.yml")
    with open(cfg, "w") as f:
        f.write(textwrap.dedent(f"""\
            name: {name}
            suite: suite.yml
            output: results/{name}.h5
            scratch: {root}/scratch
            trials: {trials}
            max_iterations: {max_iterations}
            models: [{", ".join(models)}]
            endpoints:
              {endpoints}
            model_defaults: {model_defaults}
            limits: {limits}
            """) + extra)
    os.makedirs(os.path.join(root, "scratch"), exist_ok=True)
    r = subprocess.run([BIN, "reference", os.path.join(root, "suite.yml")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return cfg


_made = []


def sandbox_tmp():
    """A fresh directory under /tmp that the sandbox's unprivileged uid can
    search (pytest's own tmp_path sits in a 0700 folder), removed at exit."""
    d = tempfile.mkdtemp(prefix="llm4hep-test-", dir="/dev/shm" if os.path.isdir("/dev/shm") else "/tmp")
    os.chmod(d, 0o755)
    _made.append(d)
    return d


@atexit.register
def _cleanup():
    for d in _made:
        shutil.rmtree(d, ignore_errors=True)


# The MPI launcher: Open MPI's mpirun by default; test.sh runs the campaign
# tests once more with MPICH's (LLM4HEP_MPIEXEC=mpiexec.mpich).
MPIEXEC = os.environ.get("LLM4HEP_MPIEXEC", "mpirun")


def sweep_cmd(cfg, ranks, *args):
    return [MPIEXEC, "-n", str(ranks), BIN, "sweep", cfg, *args]


def run_sweep(cfg, ranks=4, *args, timeout=300, env=None):
    return subprocess.run(sweep_cmd(cfg, ranks, *args), capture_output=True, text=True,
                          timeout=timeout, env=mpi_env(env))


def start_sweep(cfg, ranks=4, *args, env=None):
    """Start a sweep in its own process group (so the whole job can be killed)."""
    return subprocess.Popen(sweep_cmd(cfg, ranks, *args), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=mpi_env(env),
                            start_new_session=True)


def _descendants(pid):
    """Every process below pid (by parent links in /proc), deepest last."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def kill_job(p, sig=signal.SIGKILL):
    """Signal the whole job: the launcher's process group and, for SIGKILL,
    every process below it (as Slurm's process tracking does; Open MPI puts
    ranks in process groups of their own)."""
    victims = _descendants(p.pid) if sig == signal.SIGKILL else []
    try:
        os.killpg(p.pid, sig)
    except ProcessLookupError:
        pass
    for pid in victims:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def output_of(cfg):
    return os.path.join(os.path.dirname(cfg), "results",
                        open(cfg).read().split("name: ")[1].split()[0] + ".h5")


def tasks(h5path):
    with h5py.File(h5path, "r") as f:
        return f["tasks"][:]


def text(f, row, name):
    off, n = int(row[name + "_off"]), int(row[name + "_len"])
    return bytes(f["text"][off:off + n]).decode("utf-8") if n else ""


def final_rows(h5path):
    t = tasks(h5path)
    return t[t["final"] == 1]


def leftover_processes(marker):
    """PIDs of processes whose command line contains marker (nothing of a
    campaign may survive it)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmd:
            out.append((int(pid), cmd))
    return out


def wait_no_leftovers(marker, seconds=10):
    """Wait until nothing whose command line names marker runs; return what
    still does after `seconds` (an empty list is the good answer)."""
    import time
    end = time.time() + seconds
    left = leftover_processes(marker)
    while left and time.time() < end:
        time.sleep(0.1)
        left = leftover_processes(marker)
    return left


def keys_unique(rows):
    keys = [bytes(k) for k in rows["key"]]
    return len(keys) == len(set(keys))


__all__ = ["np"]
