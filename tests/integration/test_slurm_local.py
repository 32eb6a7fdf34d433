"""The private single-node Slurm (slurm/local/) and the Slurm mechanics sweep.sh relies on.

Real daemons (munged, slurmctld, slurmd as root in a private directory), real
jobs: srun and a 4-rank MPI program, Perlmutter's directives, the time-limit
signal, requeue with SLURM_RESTART_COUNT, clean stop.
"""
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = Path(os.environ.get("LLM4HEP_SOURCE_DIR") or Path(__file__).resolve().parents[2])
sys.path.insert(0, str(SRC / "slurm" / "local"))
from private_slurm import PrivateSlurm, exit_code  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the private Slurm runs as root")


@pytest.fixture(scope="module")
def slurm(request):
    s = PrivateSlurm()
    s.start()
    yield s
    if request.session.testsfailed:
        sys.stderr.write(s.logs())
    s.stop()


def write(path, text, mode=0o755):
    path.write_text(text)
    path.chmod(mode)
    return path


def daemon_pids(directory):
    pids = {}
    for name in ("munged", "slurmctld", "slurmd"):
        f = Path(directory) / "run" / (name + ".pid")
        if f.exists():
            pids[name] = int(f.read_text().split()[0])
    return pids


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rsplit(") ", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_node_idle_with_cpu_feature(slurm):
    p = slurm.run(["sinfo", "-h", "-o", "%T %c %f"])
    assert p.returncode == 0, p.stderr
    state, cpus, features = p.stdout.split()
    assert state == "idle" and int(cpus) >= 16 and "cpu" in features.split(",")


def test_start_is_idempotent(slurm):
    before = daemon_pids(slurm.dir)
    p = subprocess.run([str(SRC / "slurm/local/start.sh"), slurm.dir], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "already running" in p.stderr
    assert p.stdout.splitlines()[0] == "export SLURM_CONF=%s/slurm.conf" % slurm.dir
    assert daemon_pids(slurm.dir) == before


def test_sbatch_wait_srun_hostname_16_tasks(slurm, tmp_path):
    script = write(tmp_path / "job.sh", "#!/bin/bash\nsrun hostname\n")
    out = tmp_path / "out.txt"
    t0 = time.monotonic()
    p = slurm.run(["sbatch", "--wait", "-n", "16", "-o", str(out), str(script)], cwd=tmp_path)
    assert p.returncode == 0, p.stderr + out.read_text()
    lines = out.read_text().split()
    assert len(lines) == 16 and len(set(lines)) == 1
    assert time.monotonic() - t0 < 30


def test_perlmutter_directives_accepted(slurm, tmp_path):
    script = write(tmp_path / "job.sh", "#!/bin/bash\n#SBATCH -C cpu -q regular -A m0000\n"
                   "echo ok $SLURM_JOB_ACCOUNT\n")
    out = tmp_path / "out.txt"
    p = slurm.run(["sbatch", "--wait", "-n", "4", "-o", str(out), str(script)], cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert out.read_text().strip() == "ok m0000"


def test_sbatch_wait_returns_exit_code(slurm, tmp_path):
    script = write(tmp_path / "job.sh", "#!/bin/bash\nexit 4\n")
    p = slurm.run(["sbatch", "--wait", "-o", "/dev/null", str(script)], cwd=tmp_path)
    assert p.returncode == 4


MPI_HELLO = r"""
#include <mpi.h>
#include <stdio.h>
int main(int argc, char **argv) {
    int rank, size, sum = 0;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Reduce(&rank, &sum, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) printf("size=%d sum=%d\n", size, sum);
    MPI_Finalize();
    return 0;
}
"""


@pytest.mark.parametrize("launcher", ["srun", "mpirun"])
def test_mpi_program_4_ranks(slurm, tmp_path, launcher):
    (tmp_path / "hello.c").write_text(MPI_HELLO)
    subprocess.run(["mpicc", "-o", str(tmp_path / "hello"), str(tmp_path / "hello.c")], check=True)
    launch = "srun" if launcher == "srun" else "mpirun -np $SLURM_NTASKS"
    script = write(tmp_path / "job.sh", "#!/bin/bash\n%s %s/hello\n" % (launch, tmp_path))
    out = tmp_path / "out.txt"
    env = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    p = slurm.run(["sbatch", "--wait", "-n", "4", "-o", str(out), str(script)], env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr + out.read_text()
    assert "size=4 sum=6" in out.read_text()


# Slurm's time-limit warning (--signal=USR1@20, no B:) goes to every process
# of the step: proctrack/linuxproc signals the tree under slurmstepd children
# first, so each rank's sleeper gets USR1 before the rank's bash. A sleeper
# that died of it woke the bash's `wait` (which then returns 0), and a bash
# that ran to its end before slurmstepd reached it exited 0 without running
# its trap: "rank N got USR1" missing and srun silent about task N. So the
# sleeper ignores USR1 (as llm4hep's own task children do) and the trap alone
# ends the rank. Each rank also writes what happened to its own file.
RANK = r"""#!/bin/bash
f=%(dir)s/rank-$SLURM_PROCID
trap '' USR1            # inherited by the sleeper: only this shell's trap handles it
sleep 300 &
pid=$!
trap 'echo "rank $SLURM_PROCID got USR1"; echo "$(date +%%T.%%N) got USR1" >>"$f"; kill $pid; exit 4' USR1
echo "$(date +%%T.%%N) pid $$ sleeper $pid: trap set" >>"$f"
wait $pid
echo "$(date +%%T.%%N) wait returned $? without the trap" >>"$f"
"""

# Submitted with a 5-minute limit, so the warning (20 s before the limit;
# slurmctld checks limits on a 30 s tick and may send it up to a tick early)
# cannot come before the ranks have installed their trap; the test shortens
# the limit once both say they are ready.
SIGNAL_JOB = r"""#!/bin/bash
#SBATCH -t 5 --signal=USR1@20 --requeue --open-mode=append
echo "run restart=${SLURM_RESTART_COUNT:-0}"
if [[ ${SLURM_RESTART_COUNT:-0} == 0 ]]; then
    srun %(dir)s/rank.sh
    echo "srun exit $?"
    scontrol requeue $SLURM_JOB_ID
    exit 4
fi
echo "second run"
"""


def srun_task_exits(text):
    """{task: exit code} from srun's "task 1: ..." / "tasks 0-1: Exited with exit code 4"
    (one line per message from slurmstepd, which groups tasks that ended together)."""
    exits = {}
    for spec, code in re.findall(r"tasks? ([0-9,-]+): Exited with exit code (\d+)", text):
        for part in spec.split(","):
            first, _, last = part.partition("-")
            for task in range(int(first), int(last or first) + 1):
                exits[task] = int(code)
    return exits


def test_signal_reaches_ranks_and_requeue_reruns(slurm, tmp_path):
    write(tmp_path / "rank.sh", RANK % {"dir": tmp_path})
    script = write(tmp_path / "job.sh", SIGNAL_JOB % {"dir": tmp_path})
    out = tmp_path / "out.txt"
    ranks = [tmp_path / ("rank-%d" % r) for r in range(2)]

    def said():
        return {f.name: f.read_text() if f.exists() else None for f in ranks}

    t0 = time.monotonic()
    job = slurm.sbatch(["-n", "2", "-o", str(out), str(script)], cwd=tmp_path)
    deadline = t0 + 120
    while not all("trap set" in (t or "") for t in said().values()):
        assert time.monotonic() < deadline, (slurm.job(job), said())
        time.sleep(0.1)
    # The limit that makes the warning due now (or 10 s into the job) and
    # still leaves the 30 s tick and the trap time before the limit.
    ready = time.monotonic()
    minutes = max(1, math.ceil((ready - t0 + 40) / 60))
    p = slurm.run(["scontrol", "update", "JobId=%s" % job, "TimeLimit=%d" % minutes])
    assert p.returncode == 0, p.stderr
    info = slurm.wait(job, timeout=180)
    text = out.read_text()
    assert info["JobState"] == "COMPLETED" and exit_code(info) == 0, (text, said())
    assert all("got USR1" in t for t in said().values()), (text, said())
    assert "rank 0 got USR1" in text and "rank 1 got USR1" in text, (text, said())
    assert srun_task_exits(text) == {0: 4, 1: 4} and "srun exit 4" in text, text
    assert "run restart=0" in text and "run restart=1" in text and "second run" in text
    assert info.get("Restarts") == "1"
    assert time.monotonic() - ready < 100


def test_stop_kills_jobs_and_daemons_then_idempotent(tmp_path):
    s = PrivateSlurm(cpus=4)
    s.start()
    pids = daemon_pids(s.dir)
    assert set(pids) == {"munged", "slurmctld", "slurmd"} and all(alive(p) for p in pids.values())
    marker = tmp_path / "running"
    # the job's sleeps carry a name of this run's own: other tests (or
    # another run of this one) may have sleeps of theirs on the machine
    name = f"stop-test-sleep-{os.getpid()}-{tmp_path.name}"
    job = s.sbatch(["-n", "2", "-o", "/dev/null", "--wrap",
                    "srun bash -c 'touch %s; exec -a %s sleep 300'" % (marker, name)])
    def running():
        return marker.exists() and name in subprocess.run(
            ["ps", "-eo", "args"], stdout=subprocess.PIPE, text=True).stdout
    deadline = time.monotonic() + 60
    while not running() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert running(), s.job(job)
    s.stop()
    assert not any(alive(p) for p in pids.values())
    assert not Path(s.dir).exists()
    ps = subprocess.run(["ps", "-eo", "args"], stdout=subprocess.PIPE, text=True).stdout
    assert name not in ps
    p = subprocess.run([str(SRC / "slurm/local/stop.sh"), s.dir], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    assert p.returncode == 0 and "nothing to stop" in p.stderr


def test_start_refuses_foreign_directory(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    p = subprocess.run([str(SRC / "slurm/local/start.sh"), str(tmp_path)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    assert p.returncode == 2 and "not made by slurm/local/start.sh" in p.stderr
    p = subprocess.run([str(SRC / "slurm/local/stop.sh"), str(tmp_path)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    assert p.returncode == 2
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_start_explains_unsearchable_parent(tmp_path):
    # pytest's tmp_path sits under a 0700 directory: munged would refuse it.
    p = subprocess.run([str(SRC / "slurm/local/start.sh"), str(tmp_path / "cluster")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert p.returncode == 2 and "searchable by all" in p.stderr, p.stderr
    assert p.stdout == ""
