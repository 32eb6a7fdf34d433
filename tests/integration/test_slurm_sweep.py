"""slurm/sweep.sh on a real (private) Slurm: pre-flight, ranks, drain, requeue, resume.

Two kinds of test:
- with a stand-in `llm4hep` (a shell script that records each rank's
  environment and exits as told): the script's own machinery (pre-flight,
  environment, srun/mpirun, the time-limit signal, requeue, resubmit, the
  vLLM option) runs for real now;
- with the real binary (LLM4HEP_BIN): the demo campaign on 4 ranks checked
  with h5py, the time-limit drain/requeue/resume, the unreachable endpoint.
  They are skipped only while `llm4hep sweep` is not built yet.
"""
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

SRC = Path(os.environ.get("LLM4HEP_SOURCE_DIR") or Path(__file__).resolve().parents[2])
SWEEP = SRC / "slurm" / "sweep.sh"
sys.path.insert(0, str(SRC / "slurm" / "local"))
from private_slurm import PrivateSlurm, exit_code  # noqa: E402

KEY_VAR = "L4H_SWEEP_TEST_KEY"
SECRET = "sk-l4h-test-secret-0123456789"
CLEAN = {k: v for k, v in os.environ.items()
         if k.lower() not in ("http_proxy", "https_proxy", "no_proxy", "all_proxy")
         and not k.startswith(("SLURM_", "SBATCH_", "LLM4HEP_LAUNCHER", "LLM4HEP_RESTART",
                               "LLM4HEP_MAX_REQUEUES", "LLM4HEP_GPU", "LLM4HEP_VLLM"))}
ROOT_MPI = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
            "OMPI_MCA_rmaps_base_oversubscribe": "1"}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the private Slurm runs as root")


def real_bin():
    """The real llm4hep binary, or None."""
    for cand in (os.environ.get("LLM4HEP_BIN"), shutil.which("llm4hep"), SRC / "build" / "llm4hep"):
        if cand and os.access(str(cand), os.X_OK) and not os.path.isdir(str(cand)):
            return str(cand)
    return None


def sweep_verb_missing():
    """Why the real tests cannot run yet, or None. Only an unbuilt sweep verb counts."""
    b = real_bin()
    if b is None:
        return "sweep verb not built yet (no llm4hep binary: set LLM4HEP_BIN)"
    p = subprocess.run([b, "sweep", "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        return "sweep verb not built yet (%s sweep --help exits %d)" % (b, p.returncode)
    # The verb may answer --help before its campaign runner is wired in.
    p = subprocess.run([b, "sweep", "/nonexistent/llm4hep-probe.yml"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if "not built yet" in p.stderr:
        return "sweep verb not built yet (%s: %s)" % (b, p.stderr.strip())
    return None


needs_real_sweep = pytest.mark.skipif(bool(sweep_verb_missing()), reason=sweep_verb_missing() or "")


# ------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def slurm(request):
    s = PrivateSlurm()
    s.start()
    yield s
    if request.session.testsfailed:
        sys.stderr.write(s.logs())
    s.stop()


@pytest.fixture(scope="module")
def endpoint():
    """An OpenAI-shaped endpoint on loopback that answers every GET."""
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/slow"):
                time.sleep(4)
            body = b'{"object": "list", "data": []}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d/v1" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def closed_url():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "http://127.0.0.1:%d/v1" % port


STUB = r"""#!/bin/bash
# Stand-in for `llm4hep sweep` in sweep.sh tests: records what each rank saw.
if [[ ${1:-} == sweep && ${2:-} == --help ]]; then echo "usage: llm4hep sweep CONFIG [--fresh] [--grace S]"; exit 0; fi
[[ ${1:-} == sweep ]] || exit 2
rank=${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-${SLURM_PROCID:-0}}}  # mpirun keeps the batch SLURM_PROCID
first=$(( ${SLURM_RESTART_COUNT:-0} + ${LLM4HEP_RESUBMIT_COUNT:-0} == 0 ))
f=$STUB_STATE/job${SLURM_JOB_ID}-restart${SLURM_RESTART_COUNT:-0}-resubmit${LLM4HEP_RESUBMIT_COUNT:-0}-rank$rank
{
    echo "args=${*:2}"
    for v in TMPDIR HDF5_USE_FILE_LOCKING OMPI_MCA_mpi_yield_when_idle CXI_FORK_SAFE CXI_FORK_SAFE_HP \
             LLM4HEP_LOCAL_URL; do
        echo "$v=${!v-}"
    done
    [[ -d ${TMPDIR:-/nonexistent} ]] && echo "tmpdir_exists=1"
} >"$f"
case ${STUB_MODE:-complete} in
complete) exit 0 ;;
fail2) echo "stub: bad input" >&2; exit 2 ;;
exit4-first) ((first)) && exit 4; exit 0 ;;
drain)
    if ((first)); then
        trap 'echo usr1 >>"$f"; kill $pid 2>/dev/null; exit 4' USR1
        [[ -n ${LLM4HEP_READY_DIR:-} ]] && : >"$LLM4HEP_READY_DIR/rank-$rank"  # as llm4hep does
        # a sleeper that ignores USR1: slurmstepd may signal every process of
        # the step (proctrack/cgroup), and a sleeper dying first would end
        # the wait before bash runs its trap ("no signal")
        (trap '' USR1; exec setsid sleep 150) & pid=$!
        wait $pid
        echo "no signal" >>"$f"
        exit 1
    fi
    exit 0 ;;
esac
exit 9
"""


@pytest.fixture
def stub(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    b = tmp_path / "llm4hep"
    b.write_text(STUB)
    b.chmod(0o755)
    return b, state


def write_config(d, url, requires="[json]", key=True):
    d.mkdir(parents=True, exist_ok=True)
    (d / "suite.yml").write_text("name: s\nrequires: %s\nsteps: []\n" % requires)
    cfg = d / "config.yml"
    cfg.write_text("""\
name: t
suite: suite.yml
output: results/t.h5
models: [test/model]
endpoints:
  local: {base_url: "%s"%s}
model_defaults: {endpoint: local}
sandbox: {python: /usr/bin/python3}
""" % (url, (", api_key_env: " + KEY_VAR) if key else ""))
    return cfg


def stub_env(stub, mode="complete", **extra):
    b, state = stub
    env = dict(ROOT_MPI, LLM4HEP_BIN=str(b), STUB_STATE=str(state), STUB_MODE=mode)
    env[KEY_VAR] = SECRET
    env.update(extra)
    return env


def rank_files(state):
    return {p.name: p.read_text() for p in sorted(state.iterdir())}


def job_log(d, job):
    p = d / ("llm4hep-%s.out" % job)
    return p.read_text() if p.exists() else ""


def run_sweep_direct(args, env, cwd, timeout=60):
    full = dict(CLEAN)
    full.update(env)
    return subprocess.run(["bash", str(SWEEP)] + args, env=full, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)


def submit(slurm, tmp_path, sbatch_args, sweep_args, env):
    full = {k: v for k, v in CLEAN.items()}
    full.update(slurm.env)
    full.update(env)
    p = subprocess.run(["sbatch", "--parsable"] + sbatch_args + [str(SWEEP)] + sweep_args,
                       env=full, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip().split(";")[0]


# ------------------------------------------------------------------ pre-flight, no Slurm needed

def test_preflight_only_passes_and_never_prints_the_key(tmp_path, stub, endpoint):
    cfg = write_config(tmp_path, endpoint)
    p = run_sweep_direct(["--preflight-only", str(cfg)], stub_env(stub), tmp_path)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert "$%s is set (endpoint 'local')" % KEY_VAR in out
    assert "endpoint 'local' (%s) answered HTTP 200" % endpoint in out
    assert "imports json" in out and "pre-flight passed" in out
    assert SECRET not in out
    assert (tmp_path / "results").is_dir()


def test_preflight_missing_key_is_bad_input(tmp_path, stub, endpoint):
    cfg = write_config(tmp_path, endpoint)
    p = run_sweep_direct(["--preflight-only", str(cfg)], stub_env(stub, **{KEY_VAR: ""}), tmp_path)
    assert p.returncode == 2
    assert KEY_VAR in p.stderr and "'local'" in p.stderr and "not set" in p.stderr


def test_preflight_unreachable_endpoint_names_it(tmp_path, stub):
    url = closed_url()
    cfg = write_config(tmp_path, url)
    t0 = time.monotonic()
    p = run_sweep_direct(["--preflight-only", str(cfg)], stub_env(stub), tmp_path)
    assert p.returncode == 3
    assert "endpoint 'local' (%s) does not answer" % url in p.stderr
    assert time.monotonic() - t0 < 30


def test_preflight_missing_module(tmp_path, stub, endpoint):
    cfg = write_config(tmp_path, endpoint, requires="[json, no_such_module_l4h]")
    p = run_sweep_direct(["--preflight-only", str(cfg)], stub_env(stub), tmp_path)
    assert p.returncode == 3 and "no_such_module_l4h" in p.stderr


def test_preflight_unwritable_output(tmp_path, stub, endpoint):
    cfg = write_config(tmp_path, endpoint)
    (tmp_path / "results").write_text("a file where the directory should be")
    p = run_sweep_direct(["--preflight-only", str(cfg)], stub_env(stub), tmp_path)
    assert p.returncode == 3 and "results" in p.stderr


def test_bad_config_names_file_and_line(tmp_path, stub):
    cfg = tmp_path / "config.yml"
    cfg.write_text("name: t\nsuite: [x\n")
    p = run_sweep_direct(["--preflight-only", str(cfg)], stub_env(stub), tmp_path)
    assert p.returncode == 2 and "%s:" % cfg in p.stderr


def test_refuses_outside_slurm_and_without_sweep_verb(tmp_path, stub, endpoint):
    cfg = write_config(tmp_path, endpoint)
    p = run_sweep_direct([str(cfg)], stub_env(stub), tmp_path)
    assert p.returncode == 2 and "sbatch" in p.stderr
    p = run_sweep_direct(["--preflight-only", str(cfg)], stub_env(stub, LLM4HEP_BIN="/bin/false"),
                         tmp_path)
    assert p.returncode == 3 and "sweep" in p.stderr
    p = run_sweep_direct(["--launcher", "aprun", str(cfg)], stub_env(stub), tmp_path)
    assert p.returncode == 2 and "aprun" in p.stderr


# ------------------------------------------------------------------ under Slurm, stand-in binary

def test_campaign_on_4_ranks(slurm, tmp_path, stub, endpoint):
    cfg = write_config(tmp_path, endpoint)
    job = submit(slurm, tmp_path, ["--ntasks-per-node=4", "-t", "5"], [str(cfg), "--", "--fresh"],
                 stub_env(stub))
    info = slurm.wait(job, timeout=60)
    log = job_log(tmp_path, job)
    assert info["JobState"] == "COMPLETED" and exit_code(info) == 0, log
    files = rank_files(stub[1])
    assert sorted(files) == ["job%s-restart0-resubmit0-rank%d" % (job, r) for r in range(4)], log
    for text in files.values():
        assert "args=%s --fresh --grace 285\n" % cfg in text  # default lead 300 s
        assert "TMPDIR=/tmp/root/%s\n" % job in text and "tmpdir_exists=1" in text
        for line in ("HDF5_USE_FILE_LOCKING=FALSE", "OMPI_MCA_mpi_yield_when_idle=1",
                     "CXI_FORK_SAFE=1", "CXI_FORK_SAFE_HP=1"):
            assert line in text
    assert not Path("/tmp/root/%s" % job).exists()  # node-local scratch removed
    assert "pre-flight passed" in log and "campaign complete" in log
    assert SECRET not in log
    # Perlmutter's directives came from the script itself and were accepted.
    assert info["Features"] == "cpu" and info["Requeue"] == "1"


@pytest.mark.parametrize("which", ["stand-in", pytest.param("real", marks=needs_real_sweep)])
def test_unreachable_endpoint_fails_job_within_30s(slurm, tmp_path, stub, which):
    url = closed_url()
    cfg = write_config(tmp_path, url)
    env = stub_env(stub)
    if which == "real":
        env["LLM4HEP_BIN"] = real_bin()
    t0 = time.monotonic()
    job = submit(slurm, tmp_path, ["--ntasks-per-node=4", "-t", "5"], [str(cfg)], env)
    info = slurm.wait(job, timeout=30)
    elapsed = time.monotonic() - t0
    log = job_log(tmp_path, job)
    assert info["JobState"] == "FAILED" and exit_code(info) == 3, log
    assert elapsed < 30
    assert "endpoint 'local' (%s) does not answer" % url in log
    assert rank_files(stub[1]) == {}  # no rank ever started


def test_bad_input_is_not_requeued(slurm, tmp_path, stub, endpoint):
    cfg = write_config(tmp_path, endpoint)
    job = submit(slurm, tmp_path, ["--ntasks-per-node=2", "-t", "5"], [str(cfg)],
                 stub_env(stub, "fail2"))
    info = slurm.wait(job, timeout=60)
    log = job_log(tmp_path, job)
    assert exit_code(info) == 2 and info.get("Restarts") == "0", log
    assert "bad input" in log


def test_time_limit_drains_requeues_and_resumes(slurm, tmp_path, stub, endpoint):
    """1-minute limit, USR1 30 s before: the ranks drain (exit 4), the job requeues itself,
    the second run completes. First-run-only sweep options are not repeated."""
    cfg = write_config(tmp_path, endpoint)
    job = submit(slurm, tmp_path, ["--ntasks-per-node=2", "-t", "1", "--signal=USR1@30"],
                 [str(cfg), "--", "--fresh"], stub_env(stub, "drain", LLM4HEP_GRACE="30"))
    info = slurm.wait(job, timeout=180)
    log = job_log(tmp_path, job)
    assert info["JobState"] == "COMPLETED" and exit_code(info) == 0, log
    assert info.get("Restarts") == "1"
    files = rank_files(stub[1])
    first = [files["job%s-restart0-resubmit0-rank%d" % (job, r)] for r in range(2)]
    second = [files["job%s-restart1-resubmit0-rank%d" % (job, r)] for r in range(2)]
    assert all("usr1" in t and "args=%s --fresh --grace 15\n" % cfg in t for t in first), files
    assert all("args=%s --grace 15\n" % cfg in t for t in second), files
    assert "exited 4" in log and "requeued job %s" % job in log and "campaign complete" in log


def test_resubmit_mode_chains_a_new_job(slurm, tmp_path, stub, endpoint):
    cfg = write_config(tmp_path, endpoint)
    job = submit(slurm, tmp_path, ["--ntasks-per-node=2", "-t", "7"],
                 ["--restart", "resubmit", str(cfg), "--", "--fresh", "--retry-infra"],
                 stub_env(stub, "exit4-first"))
    info = slurm.wait(job, timeout=60)
    log = job_log(tmp_path, job)
    assert exit_code(info) == 4, log
    assert "submitted job" in log, log
    new = log.split("submitted job ", 1)[1].split()[0]
    info2 = slurm.wait(new, timeout=60)
    assert info2["JobState"] == "COMPLETED" and exit_code(info2) == 0, job_log(tmp_path, job)
    assert info2["TimeLimit"] == "00:07:00" and info2["NumTasks"] == "2" and info2["Features"] == "cpu"
    files = rank_files(stub[1])
    assert "args=%s --fresh --retry-infra --grace 285\n" % cfg in files["job%s-restart0-resubmit0-rank0" % job]
    assert "args=%s --retry-infra --grace 285\n" % cfg in files["job%s-restart0-resubmit1-rank1" % new]
    # The follow-up job appends to the first job's log.
    assert "campaign complete" in job_log(tmp_path, job)
    # Neither job's node-local scratch is left behind (the second job must not
    # inherit the first one's TMPDIR: slurmstepd would make it again).
    assert not Path("/tmp/root/%s" % job).exists() and not Path("/tmp/root/%s" % new).exists()


def wait_for_files(state, n, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(list(state.iterdir())) >= n:
            return True
        time.sleep(0.2)
    return False


def test_mpirun_launcher_gets_the_drain_signal(slurm, tmp_path, stub, endpoint):
    """The time-limit warning goes to the batch shell (B:), which passes it to
    mpirun, which passes it to the ranks; cap 0: no requeue."""
    cfg = write_config(tmp_path, endpoint)
    job = submit(slurm, tmp_path, ["--ntasks-per-node=2", "-t", "5"],
                 ["--launcher", "mpirun", "--max-requeues", "0", str(cfg)], stub_env(stub, "drain"))
    # the ranks are starting (a signal before they are all ready is kept by
    # sweep.sh until they are: no need to wait longer)
    assert wait_for_files(stub[1], 2), job_log(tmp_path, job)
    p = slurm.run(["scancel", "--batch", "--signal=USR1", job])
    assert p.returncode == 0, p.stderr
    info = slurm.wait(job, timeout=300)
    log = job_log(tmp_path, job)
    assert exit_code(info) == 4 and info.get("Restarts") == "0", log
    files = rank_files(stub[1])
    assert sorted(files) == ["job%s-restart0-resubmit0-rank%d" % (job, r) for r in range(2)], log
    assert all(t.count("usr1") == 1 for t in files.values()), (files, log)
    assert "passing it to the ranks" in log and "requeue cap (0) is reached" in log


def test_signal_before_ranks_start_is_passed_on(slurm, tmp_path, stub, endpoint):
    """A warning that comes during the pre-flight (here: a slow endpoint) is
    kept and passed to the ranks once they run."""
    cfg = write_config(tmp_path, endpoint.replace("/v1", "/slow/v1"))
    job = submit(slurm, tmp_path, ["--ntasks-per-node=2", "-t", "5"],
                 ["--max-requeues", "0", str(cfg)],
                 stub_env(stub, "drain"))
    deadline = time.monotonic() + 300
    while "pre-flight: /usr/bin/python3 imports" not in job_log(tmp_path, job):
        assert time.monotonic() < deadline, job_log(tmp_path, job)
        time.sleep(0.1)
    assert slurm.run(["scancel", "--batch", "--signal=USR1", job]).returncode == 0
    info = slurm.wait(job, timeout=300)
    log = job_log(tmp_path, job)
    assert exit_code(info) == 4, log
    assert "before the ranks started" in log and "passing the early SIGUSR1" in log
    files = rank_files(stub[1])
    assert len(files) == 2 and all("usr1" in t for t in files.values()), (files, log)


FAKE_VLLM = r"""#!/usr/bin/python3
# Stand-in for `vllm serve MODEL --port P ...`: answers /v1/models.
import http.server, json, sys
args = sys.argv[1:]
model, port = args[1], int(args[args.index("--port") + 1])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": model}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
print("fake vllm serving", model, flush=True)
http.server.HTTPServer(("0.0.0.0", port), H).serve_forever()
"""


def test_vllm_option_serves_the_local_endpoint(slurm, tmp_path, stub):
    fake = tmp_path / "vllm"
    fake.write_text(FAKE_VLLM)
    fake.chmod(0o755)
    # Without the server, the default base_url (a closed port) fails the pre-flight.
    cfg = write_config(tmp_path, "${LLM4HEP_LOCAL_URL:-%s}" % closed_url(), key=False)
    job = submit(slurm, tmp_path, ["--ntasks-per-node=2", "-t", "5"],
                 ["--vllm", "org/fake-model", str(cfg)],
                 stub_env(stub, LLM4HEP_VLLM_BIN=str(fake), LLM4HEP_VLLM_GPUS="0"))
    info = slurm.wait(job, timeout=90)
    log = job_log(tmp_path, job)
    assert info["JobState"] == "COMPLETED" and exit_code(info) == 0, log
    files = rank_files(stub[1])
    assert len(files) == 2
    urls = {line for t in files.values() for line in t.splitlines() if line.startswith("LLM4HEP_LOCAL_URL=")}
    assert len(urls) == 1 and urls.pop().endswith("/v1")
    assert "vLLM answers" in log and "answered HTTP 200" in log
    assert "fake vllm serving org/fake-model" in (tmp_path / "results" / ("vllm-%s.log" % job)).read_text()
    ps = subprocess.run(["ps", "-eo", "args"], stdout=subprocess.PIPE, text=True).stdout
    assert str(fake) not in ps


# ------------------------------------------------------------------ the real campaign

@pytest.fixture
def pub_dir():
    """A directory the sandbox's unprivileged uid can search (pytest's tmp_path is 0700)."""
    import tempfile
    d = Path(tempfile.mkdtemp(prefix="llm4hep-sweep-test-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(str(d), ignore_errors=True)


def real_campaign(tmp_path, trials=1, models=None, slow_s=0):
    """A config derived from examples/demo.yml, writing into tmp_path; (config, expected task count, env)."""
    import yaml
    ex = SRC / "examples"
    cfg = yaml.safe_load((ex / "demo.yml").read_text())
    cfg["suite"] = str((ex / cfg["suite"]).resolve())
    cfg["output"] = str(tmp_path / "results" / "demo.h5")
    cfg["trials"] = trials
    if models:
        cfg["models"] = models
    scripted = None
    for ep in cfg["endpoints"].values():
        if "dir" in ep:
            scripted = (ex / ep["dir"]).resolve()
            ep["dir"] = str(scripted)
    if slow_s:
        # Every answer's code sleeps first, so the campaign outlasts its time limit.
        copy = tmp_path / "scripted"
        shutil.copytree(scripted, copy)
        for f in (copy / "answers").glob("*.py"):
            f.write_text("import time; time.sleep(%s)\n" % slow_s + f.read_text())
        for ep in cfg["endpoints"].values():
            if "dir" in ep:
                ep["dir"] = str(copy)
    path = tmp_path / "campaign.yml"
    path.write_text(yaml.safe_dump(cfg))
    suite = yaml.safe_load(Path(cfg["suite"]).read_text())
    n_steps = len(cfg.get("steps") or suite["steps"])
    expected = len(cfg["models"]) * n_steps * trials
    env = {"LLM4HEP_HGG_DATA": str(tmp_path / "data"), "LLM4HEP_HGG_REF": str(tmp_path / "ref"),
           "LLM4HEP_HGG_SIZE": "tiny", "LLM4HEP_BIN": real_bin()}
    full = dict(CLEAN, **env)
    p = subprocess.run([real_bin(), "reference", cfg["suite"]], env=full, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=600)
    assert p.returncode == 0, p.stdout
    return path, expected, env


def final_rows(h5path):
    import h5py
    import numpy as np
    with h5py.File(h5path, "r") as f:
        tasks = f["tasks"][:]
        runs = f["runs"][:]
    final = tasks[tasks["final"] == 1]
    keys = [k.decode() if isinstance(k, bytes) else str(k) for k in final["key"]]
    all_keys = {k.decode() if isinstance(k, bytes) else str(k) for k in tasks["key"]}
    return final, keys, all_keys, runs, np


@needs_real_sweep
def test_real_demo_campaign_4_ranks(slurm, pub_dir):
    tmp_path = pub_dir
    cfg, expected, env = real_campaign(tmp_path)
    env.update(ROOT_MPI)
    job = submit(slurm, tmp_path, ["--ntasks-per-node=4", "-t", "10"], [str(cfg)], env)
    info = slurm.wait(job, timeout=600)
    log = job_log(tmp_path, job)
    assert info["JobState"] == "COMPLETED" and exit_code(info) == 0, log
    final, keys, all_keys, runs, np = final_rows(tmp_path / "results" / "demo.h5")
    assert len(keys) == len(set(keys)) == len(all_keys) == expected, log
    statuses = [s.decode() if isinstance(s, bytes) else str(s) for s in final["status"]]
    assert not [s for s in statuses if s == "interrupted" or s.startswith("error_")], statuses
    assert "success" in statuses
    assert int(runs["ranks"][-1]) == 4
    assert str(runs["slurm_job_id"][-1].decode() if isinstance(runs["slurm_job_id"][-1], bytes)
               else runs["slurm_job_id"][-1]) == job


@needs_real_sweep
def test_real_time_limit_drain_requeue_resume(slurm, pub_dir):
    """A campaign too long for its time limit: it drains on the signal,
    requeues, and the resumed run(s) finish it: exactly one final row per task.

    2 minutes and the signal 60 s before, not 1 and 30: Slurm checks time
    limits on a 30 s tick and sends the signal up to a tick early, so with
    1 minute and 30 s a run may be told to drain right at its start (the
    stand-in test below keeps 1 minute and 30 s)."""
    tmp_path = pub_dir
    # ~85 s of work on 3 task slots (each code run sleeps 8 s; with 4 s the
    # whole campaign took 46 s and finished before the signal): more than a
    # run can do before its signal (30 to 60 s into the job); the resumed
    # run(s) finish it.
    cfg, expected, env = real_campaign(tmp_path, trials=5, models=["scripted/careful"], slow_s=8)
    env.update(ROOT_MPI, LLM4HEP_GRACE="60")
    job = submit(slurm, tmp_path, ["--ntasks-per-node=4", "-t", "2", "--signal=USR1@60"],
                 ["--max-requeues", "4", str(cfg)], env)
    info = slurm.wait(job, timeout=900)
    log = job_log(tmp_path, job)
    assert info["JobState"] == "COMPLETED" and exit_code(info) == 0, log
    assert int(info.get("Restarts", "0")) >= 1, log
    assert "requeued job %s" % job in log
    final, keys, all_keys, runs, np = final_rows(tmp_path / "results" / "demo.h5")
    assert len(keys) == len(set(keys)) == len(all_keys) == expected
    codes = [int(c) for c in runs["exit_code"]]
    assert codes[0] == 4 and codes[-1] == 0, codes
    assert 1 in {int(r) for r in runs["slurm_restart_count"]}
