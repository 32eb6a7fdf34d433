"""Helpers for campaign tests: a copy of the arith fixture suite in a temp
directory, a config for it, `llm4hep sweep` under mpirun, and reading the
results back with h5py. Not a test file itself (no test_ prefix)."""
import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time

import h5py
import numpy as np

from conftest import BIN, FIXTURES, SRC  # noqa: F401 (BIN, SRC: re-exported to the tests)

FIXTURE = os.path.join(FIXTURES, "campaign")


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
    """Start a sweep as a job: see Job."""
    return Job(cfg, ranks, *args, env=env)


# The job's init: runs the launcher, says how it ended, then waits for the
# test to end the job (EOF on stdin), so that what the launcher leaves behind
# is not killed by the namespace before the test has looked.
_JOB_INIT = '"$@" </dev/null & wait $!; echo "job: launcher exited with $?"; read _'


class Job:
    """A sweep launched the way Slurm runs a job: the launcher in a PID
    namespace of its own (`unshare --pid --fork --kill-child --mount-proc`), whose init
    waits for the test. Killing the job (kill_whole) kills the namespace, so
    nothing spawned after any snapshot escapes; killing one process
    (kill_one) leaves the rest to the product's own mechanisms, and members()
    shows what is left. Output lines are collected as they come (wait_for)."""

    def __init__(self, cfg, ranks, *args, env=None):
        import threading
        # --mount-proc: the job sees its own pids in /proc (MPICH's shared
        # memory opens /proc/<peer pid>/fd/N)
        cmd = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--", "/bin/sh", "-c",
               _JOB_INIT,
               "job"] + sweep_cmd(cfg, ranks, *args)
        # a TMPDIR of its own: the MPI session directories are named by pid,
        # and every job's pids start at 1 in its namespace
        env = dict(env or {})
        env.setdefault("TMPDIR", tempfile.mkdtemp(prefix="job-", dir=os.environ.get("TMPDIR")))
        _made.append(env["TMPDIR"])
        # and its shared-memory segments there too: Open MPI names them by the
        # job id it derives from mpirun's pid, the same in every namespace, so
        # two jobs at once in /dev/shm would map each other's segments
        env.setdefault("OMPI_MCA_btl_vader_backing_directory", env["TMPDIR"])
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, env=mpi_env(env),
                                  start_new_session=True)
        self.pid = self.p.pid
        self.lines = []
        self._cv = threading.Condition()
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()
        self.init = self._wait(lambda: _children(self.p.pid), 60, "the job's init")[0]
        self.ns = os.readlink(f"/proc/{self.init}/ns/pid")

    def _read(self):
        for line in self.p.stdout:
            with self._cv:
                self.lines.append(line)
                self._cv.notify_all()
        with self._cv:
            self.lines.append(None)  # EOF
            self._cv.notify_all()

    @staticmethod
    def _wait(probe, seconds, what):
        end = time.monotonic() + seconds
        while True:
            got = probe()
            if got:
                return got
            if time.monotonic() > end:
                raise AssertionError(f"waited {seconds} s for {what}")
            time.sleep(0.02)

    @property
    def returncode(self):
        return self.p.returncode

    def output(self):
        with self._cv:
            return "".join(x for x in self.lines if x)

    def wait_for(self, text, seconds=120):
        """Wait until the output holds text; returns the output."""
        with self._cv:
            ok = self._cv.wait_for(lambda: text in "".join(x for x in self.lines if x) or
                                   None in self.lines, timeout=seconds)
            out = "".join(x for x in self.lines if x)
        assert ok and text in out, f"no '{text}' in the job's output within {seconds} s:\n{out}"
        return out

    def members(self):
        """Live processes of the job but its init: those in its namespace and
        those below its init (a sandbox's nested namespace) — [(pid, ppid, argv)]."""
        procs = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                stat = open(f"/proc/{d}/stat").read()
                ns = os.readlink(f"/proc/{d}/ns/pid")
                argv = open(f"/proc/{d}/cmdline", "rb").read().split(b"\0")
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            procs[int(d)] = (fields[0], int(fields[1]), ns,
                             [a.decode(errors="replace") for a in argv if a])

        def below_init(pid):
            seen = set()
            while pid > 1 and pid not in seen:
                seen.add(pid)
                if pid == self.init:
                    return True
                pid = procs[pid][1] if pid in procs else 0
            return False

        return [(pid, ppid, argv) for pid, (state, ppid, ns, argv) in procs.items()
                if pid != self.init and state not in ("Z", "X") and
                (ns == self.ns or below_init(pid))]

    def find(self, pred, seconds=120, what="a process"):
        """Wait until a member matches pred(pid, ppid, argv); returns it."""
        return self._wait(lambda: [m for m in self.members() if pred(*m)], seconds, what)[0]

    def kill_one(self, pid):
        os.kill(pid, signal.SIGKILL)

    def wait_launcher(self, seconds=300):
        """Wait until the launcher has exited; returns its exit status."""
        out = self.wait_for("job: launcher exited with", seconds)
        return int(out.split("job: launcher exited with ")[1].split()[0])

    def wait_empty(self, seconds=60):
        """Wait until nothing of the job is left but its init; returns what
        is still alive after `seconds` (the good answer is [])."""
        end = time.monotonic() + seconds
        left = self.members()
        while left and time.monotonic() < end:
            time.sleep(0.05)
            left = self.members()
        return left

    def launcher(self):
        """The launcher's pid (the init's child)."""
        return self._wait(lambda: _children(self.init), 60, "the launcher")[0]

    def signal_launcher(self, sig):
        """Send sig to the launcher's process group inside the job (mpirun, or
        mpiexec and its proxies; they pass SIGUSR1/SIGTERM on to the ranks),
        not to the init that holds the namespace."""
        pg = os.getpgid(self.launcher())
        for pid, _, _ in self.members():
            try:
                if os.getpgid(pid) == pg:
                    os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def end(self, seconds=120):
        """Let the init go (the namespace dies with it); returns the launcher's
        exit status, or None when it was killed with the job."""
        try:
            self.p.stdin.close()
        except OSError:
            pass
        self.p.wait(timeout=seconds)
        self._t.join(timeout=seconds)
        out = self.output()
        if "job: launcher exited with " in out:
            return int(out.split("job: launcher exited with ")[1].split()[0])
        return None

    def kill_whole(self, seconds=60):
        """kill -9 of the whole job, as Slurm does: the namespace's init dies
        (unshare --kill-child) and the kernel kills every process in it."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.p.wait(timeout=seconds)
        self._t.join(timeout=seconds)


def _children(pid):
    try:
        return [int(x) for x in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:
        return []


def kill_job(job, sig=signal.SIGKILL):
    """kill -9 of the whole job (its namespace); any other signal goes to
    the launcher, which passes it on to the ranks."""
    if sig == signal.SIGKILL:
        job.kill_whole()
    else:
        job.signal_launcher(sig)


def output_of(cfg):
    return os.path.join(os.path.dirname(cfg), "results",
                        open(cfg).read().split("name: ")[1].split()[0] + ".h5")


def tasks(h5path):
    with h5py.File(h5path, "r") as f:
        return f["tasks"][:]


def text(f, row, name):
    off, n = int(row[name + "_off"]), int(row[name + "_len"])
    if name == "request" and int(f.attrs.get("format_version", 1)) >= 2:
        return request(f, row)
    return bytes(f["text"][off:off + n]).decode("utf-8") if n else ""


def journal_payloads(path):
    """Every record of a journal as (type, payload bytes), compressed task
    records inflated (header byte 5 = 1: a uint32 length and a zlib stream):
    what a test searches for a secret, which deflate would hide."""
    import struct
    import zlib
    data = open(path, "rb").read()
    pos, out = 0, []
    while pos + 16 <= len(data):
        magic, typ, flags, length = struct.unpack_from("<4sc1s2xI", data, pos)
        payload = data[pos + 16:pos + 16 + length]
        if magic != b"L4HJ" or len(payload) < length:
            break
        if flags == b"\x01":
            payload = zlib.decompress(payload[4:])
        out.append((typ.decode(), payload))
        pos += 17 + length
    return out


def journal_text(path):
    """The journal's records, decompressed, as one bytes (for searching)."""
    return b"\n".join(p for _, p in journal_payloads(path))


def request(f, row):
    """A /calls row's request body, rebuilt from its pieces (format_version 2:
    request_off/_len are rows of /piece_refs, each a /pieces row)."""
    off, n = int(row["request_off"]), int(row["request_len"])
    out = b""
    for p in f["piece_refs"][off:off + n]:
        piece = f["pieces"][int(p)]
        o, ln = int(piece["text_off"]), int(piece["text_len"])
        out += bytes(f["text"][o:o + ln])
    return out.decode("utf-8")


def final_rows(h5path):
    t = tasks(h5path)
    return t[t["final"] == 1]


def keys_unique(rows):
    keys = [bytes(k) for k in rows["key"]]
    return len(keys) == len(set(keys))


__all__ = ["np"]
