"""A private single-node Slurm for Python tests (wraps start.sh and stop.sh).

    from private_slurm import PrivateSlurm
    with PrivateSlurm() as slurm:                 # starts munged, slurmctld, slurmd
        job = slurm.sbatch(["-n", "4", script])   # environment: slurm.env
        info = slurm.wait(job, timeout=60)        # {'JobState': 'COMPLETED', 'ExitCode': '0:0', ...}

Every daemon is stopped and the directory removed on exit, also when the
test fails (the logs are printed first) or the process gets SIGTERM.
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED",
            "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"}


class SlurmError(RuntimeError):
    pass


class PrivateSlurm:
    def __init__(self, directory=None, cpus=64):
        self.dir = directory or tempfile.mkdtemp(prefix="llm4hep-slurm-", dir="/tmp")
        self.cpus = cpus
        self.env = None
        self._old_term = None

    # -- lifecycle ------------------------------------------------------
    def start(self):
        env = dict(os.environ, LLM4HEP_SLURM_CPUS=str(self.cpus))
        p = subprocess.run([os.path.join(HERE, "start.sh"), self.dir], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=90)
        if p.returncode != 0:
            raise SlurmError("slurm/local/start.sh failed (%d):\n%s" % (p.returncode, p.stderr))
        self.env = dict(os.environ)
        for line in p.stdout.splitlines():
            if line.startswith("export ") and "=" in line:
                key, value = line[len("export "):].split("=", 1)
                self.env[key] = value
        # ctest kills a test that runs too long with SIGTERM: turn it into an
        # exception so the daemons are still stopped.
        if self._old_term is None:
            self._old_term = signal.signal(signal.SIGTERM, _raise_interrupt)
        return self

    def stop(self, keep=False):
        if self.env is None and not os.path.exists(self.dir):
            return
        args = [os.path.join(HERE, "stop.sh")] + (["--keep"] if keep else []) + [self.dir]
        subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=90)
        self.env = None
        if self._old_term is not None:
            signal.signal(signal.SIGTERM, self._old_term)
            self._old_term = None

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            sys.stderr.write(self.logs())
        self.stop()
        return False

    def logs(self, lines=40):
        out = []
        for name in ("slurmctld", "slurmd", "munged"):
            path = os.path.join(self.dir, "log", name + ".log")
            if os.path.exists(path):
                with open(path, errors="replace") as fh:
                    tail = fh.readlines()[-lines:]
                out.append("==> %s <==\n%s" % (path, "".join(tail)))
        return "\n".join(out)

    # -- jobs -----------------------------------------------------------
    def run(self, args, env=None, **kw):
        full = dict(self.env)
        full.update(env or {})
        kw.setdefault("timeout", 60)
        return subprocess.run(args, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, **kw)

    def sbatch(self, args, env=None, cwd=None):
        """Submit; return the job id (str)."""
        p = self.run(["sbatch", "--parsable"] + list(args), env=env, cwd=cwd)
        if p.returncode != 0:
            raise SlurmError("sbatch %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr))
        return p.stdout.strip().split(";")[0]

    def job(self, job_id):
        """scontrol show job as a dict ({} once Slurm forgot the job)."""
        p = self.run(["scontrol", "show", "job", "-o", str(job_id)])
        if p.returncode != 0:
            return {}
        info = {}
        for word in p.stdout.split():
            if "=" in word:
                key, value = word.split("=", 1)
                info.setdefault(key, value)
        return info

    def wait(self, job_id, timeout=120, poll=0.3):
        """Wait until the job is finished for good (a requeued job is not)."""
        deadline = time.monotonic() + timeout
        info = {}
        while time.monotonic() < deadline:
            info = self.job(job_id)
            if info.get("JobState") in TERMINAL:
                return info
            time.sleep(poll)
        raise SlurmError("job %s not finished after %s s: %s" % (job_id, timeout, info.get("JobState")))


def exit_code(info):
    """The job's exit status from ExitCode=STATUS:SIGNAL."""
    return int(info.get("ExitCode", "0:0").split(":")[0])


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt("SIGTERM")
