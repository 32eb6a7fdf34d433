"""slurm/lib.sh functions, slurm/config_info.py, and shellcheck on every script.

Each shell function is called in `bash -c 'source slurm/lib.sh; ...'`. The GPU
and vLLM functions run against fakes (nvidia-smi, scontrol, a vLLM stand-in
serving /v1/models), since this machine has neither GPUs nor vLLM.
"""
import http.server
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

SRC = Path(os.environ.get("LLM4HEP_SOURCE_DIR") or Path(__file__).resolve().parents[2])
LIB = SRC / "slurm" / "lib.sh"
PY = os.environ.get("LLM4HEP_PYTHON") or "/usr/bin/python3"
# Tests talk to loopback only; a proxy from the environment must not interfere.
CLEAN = {k: v for k, v in os.environ.items()
         if k.lower() not in ("http_proxy", "https_proxy", "no_proxy", "all_proxy")}


def sh(code, env=None, timeout=60, **kw):
    full = dict(CLEAN)
    full.update(env or {})
    return subprocess.run(["bash", "-c", 'source "$L4H_LIB" || exit 99\n' + code],
                          env=dict(full, L4H_LIB=str(LIB)), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout, **kw)


def exe(path, text):
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def http_server():
    seen = []

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            body = b'{"object": "list", "data": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    srv.seen = seen
    yield srv
    srv.shutdown()
    srv.server_close()


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ------------------------------------------------------------------ shellcheck

def test_shellcheck_every_script():
    scripts = sorted(str(p) for p in (SRC / "slurm").rglob("*.sh"))
    assert {"sweep.sh", "lib.sh", "start.sh", "stop.sh"} <= {Path(s).name for s in scripts}
    try:
        p = subprocess.run(["shellcheck", "-x", "--severity=style"] + scripts, cwd=SRC,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except FileNotFoundError:
        pytest.fail("shellcheck is not installed (Debian package: shellcheck)")
    assert p.returncode == 0, p.stdout


# ------------------------------------------------------------------ processes and ports

def test_free_ports_are_distinct_and_bindable():
    p = sh("l4h_free_ports 3")
    ports = [int(x) for x in p.stdout.split()]
    assert p.returncode == 0 and len(set(ports)) == 3
    for port in ports:
        s = socket.socket()
        s.bind(("127.0.0.1", port))
        s.close()


def test_port_free_sees_a_listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    try:
        assert sh("l4h_port_free %d" % port).returncode == 1
    finally:
        s.close()
    assert sh("l4h_port_free %d" % port).returncode == 0


def test_wait_for_success_and_timeout():
    t0 = time.monotonic()
    assert sh("l4h_wait_for 5 true").returncode == 0
    assert time.monotonic() - t0 < 2
    t0 = time.monotonic()
    assert sh("l4h_wait_for 1 false").returncode == 1
    assert 0.9 < time.monotonic() - t0 < 4


def test_pidfile_pid_checks_name_and_needle(tmp_path):
    proc = subprocess.Popen(["sleep", "30"], env=dict(CLEAN, L4H_NEEDLE="cluster-%s" % tmp_path))
    try:
        pidfile = tmp_path / "x.pid"
        pidfile.write_text("%d\n" % proc.pid)
        ok = sh('l4h_pidfile_pid "%s" sleep "cluster-%s"' % (pidfile, tmp_path))
        assert ok.returncode == 0 and ok.stdout.strip() == str(proc.pid)
        assert sh('l4h_pidfile_pid "%s" slurmd' % pidfile).returncode == 1
        assert sh('l4h_pidfile_pid "%s" sleep other-cluster' % pidfile).returncode == 1
        assert sh('l4h_pidfile_pid "%s/none.pid" sleep' % tmp_path).returncode == 1
        (tmp_path / "junk.pid").write_text("not a pid")
        assert sh('l4h_pidfile_pid "%s/junk.pid" sleep' % tmp_path).returncode == 1
    finally:
        proc.kill()
        proc.wait()
    assert sh('l4h_pidfile_pid "%s" sleep' % pidfile).returncode == 1


def test_stop_pid_kills_a_process_that_ignores_term():
    proc = subprocess.Popen(["bash", "-c", "trap '' TERM; sleep 30 & wait; sleep 30"])
    time.sleep(0.3)
    t0 = time.monotonic()
    p = sh("l4h_stop_pid %d 1" % proc.pid)
    assert p.returncode == 0
    assert proc.wait(timeout=5) == -signal.SIGKILL
    assert time.monotonic() - t0 < 5


def test_descendants():
    p = sh("sleep 5 >/dev/null 2>&1 & a=$!; (sleep 5; :) >/dev/null 2>&1 & b=$!; sleep 0.2; "
           "l4h_descendants $$ | sort -n; kill $a $b")
    kids = set(p.stdout.split())
    assert len(kids) >= 3  # the two sleeps and the subshell (and its sleep)


# ------------------------------------------------------------------ locations

def test_find_bin_order(tmp_path):
    fake = exe(tmp_path / "llm4hep", "#!/bin/sh\n")
    p = sh("l4h_find_bin", env={"LLM4HEP_BIN": str(fake)})
    assert p.stdout.strip() == str(fake)
    p = sh("l4h_find_bin", env={"LLM4HEP_BIN": str(tmp_path / "missing")})
    assert p.returncode == 1 and "LLM4HEP_BIN" in p.stderr
    bindir = tmp_path / "bin"
    bindir.mkdir()
    onpath = exe(bindir / "llm4hep", "#!/bin/sh\n")
    p = sh("unset LLM4HEP_BIN; l4h_find_bin", env={"PATH": "%s:/usr/bin:/bin" % bindir})
    assert p.stdout.strip() == str(onpath)
    repo = tmp_path / "repo"
    (repo / "build").mkdir(parents=True)
    built = exe(repo / "build" / "llm4hep", "#!/bin/sh\n")
    p = sh('unset LLM4HEP_BIN; l4h_find_bin "%s"' % repo, env={"PATH": "/usr/bin:/bin"})
    assert p.stdout.strip() == str(built)
    p = sh('unset LLM4HEP_BIN; l4h_find_bin "%s/none"' % tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert p.returncode == 1 and "not found" in p.stderr


def test_find_python_yaml():
    p = sh("l4h_find_python_yaml")
    assert p.returncode == 0
    assert subprocess.run([p.stdout.strip(), "-c", "import yaml"]).returncode == 0


# ------------------------------------------------------------------ config_info.py

def write_campaign(tmp_path, extra="", requires="[json, os]"):
    (tmp_path / "suite").mkdir(exist_ok=True)
    (tmp_path / "suite" / "suite.yml").write_text("name: s\nrequires: %s\nsteps: []\n" % requires)
    (tmp_path / "models.txt").write_text("# comment\nfile/model-a\n\nfile/model-b  # trailing\n")
    cfg = tmp_path / "config.yml"
    cfg.write_text("""\
name: t
suite: suite/suite.yml
output: ${L4H_TEST_OUT:-results}/t.h5
models: [openai/gpt-5, scripted/careful]
pairs: [{supervisor: local/llama, coder: openai/gpt-5}]
models_file: models.txt
endpoints:
  cborg: {base_url: "https://api.example.invalid", api_key_env: L4H_TEST_KEY}
  local: {base_url: "${L4H_TEST_LOCAL:-http://127.0.0.1:8000/v1}"}
  unused: {base_url: "https://unused.invalid", api_key_env: UNUSED_KEY}
  demo: {provider: scripted, dir: scripted}
model_defaults: {endpoint: cborg}
models_config: {"scripted/careful": {endpoint: demo}, "local/llama": {endpoint: local}}
sandbox: {python: /usr/bin/python3}
""" + extra)
    return cfg


def config_info(cfg, env=None):
    full = dict(CLEAN)
    full.update(env or {})
    return subprocess.run([PY, str(SRC / "slurm" / "config_info.py"), str(cfg)], env=full,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_config_info_lists_what_preflight_needs(tmp_path):
    cfg = write_campaign(tmp_path)
    p = config_info(cfg, env={"L4H_TEST_LOCAL": "http://10.9.9.9:8100/v1"})
    assert p.returncode == 0, p.stderr
    rows = [line.split("\t") for line in p.stdout.splitlines()]
    assert ["output", str(tmp_path / "results" / "t.h5")] in rows
    assert ["suite", str(tmp_path / "suite" / "suite.yml")] in rows
    assert ["python", "/usr/bin/python3"] in rows
    assert [r[1] for r in rows if r[0] == "require"] == ["json", "os"]
    eps = {r[1]: r for r in rows if r[0] == "endpoint"}
    assert set(eps) == {"cborg", "local"}  # scripted and unused endpoints are not checked
    assert eps["cborg"][2:4] == ["https://api.example.invalid", "L4H_TEST_KEY"]
    assert set(eps["cborg"][4].split(",")) == {"openai/gpt-5", "file/model-a", "file/model-b"}
    assert eps["local"][2:4] == ["http://10.9.9.9:8100/v1", "-"]


def test_config_info_expands_defaults_and_warns(tmp_path):
    cfg = write_campaign(tmp_path, extra='models_config: {"x/y": {endpoint: nowhere}}\n'
                                         'coders_file: missing.txt\n')
    p = config_info(cfg, env={"L4H_TEST_OUT": str(tmp_path / "elsewhere")})
    assert p.returncode == 0, p.stderr
    assert "output\t%s/elsewhere/t.h5" % tmp_path in p.stdout
    assert "warning\tcannot read %s/missing.txt" % tmp_path in p.stdout


def test_config_info_bad_yaml_names_file_line_column(tmp_path):
    cfg = tmp_path / "config.yml"
    cfg.write_text("name: t\nsuite: [unclosed\noutput: x.h5\n")
    p = config_info(cfg)
    assert p.returncode == 2
    assert p.stderr.startswith("%s:3:" % cfg), p.stderr


def test_config_info_missing_suite_file(tmp_path):
    cfg = tmp_path / "config.yml"
    cfg.write_text("name: t\nsuite: nope.yml\noutput: x.h5\n")
    p = config_info(cfg)
    assert p.returncode == 2 and "nope.yml" in p.stderr


def test_info_helpers(tmp_path):
    cfg = write_campaign(tmp_path)
    p = sh('info=$(l4h_config_info "%s") || exit 9; l4h_info_get "$info" output; '
           'l4h_info_all "$info" require | paste -sd,' % cfg)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [str(tmp_path / "results" / "t.h5"), "json,os"]


# ------------------------------------------------------------------ pre-flight pieces

def test_check_api_keys_never_prints_the_value(tmp_path):
    cfg = write_campaign(tmp_path)
    code = 'info=$(l4h_config_info "%s") || exit 9; l4h_check_api_keys "$info"' % cfg
    p = sh(code, env={"L4H_TEST_KEY": "sk-secret-value-123"})
    assert p.returncode == 0 and "L4H_TEST_KEY is set" in p.stderr
    assert "sk-secret" not in p.stdout + p.stderr
    p = sh(code, env={"L4H_TEST_KEY": ""})
    assert p.returncode == 1
    assert "cborg" in p.stderr and "L4H_TEST_KEY" in p.stderr and "not set" in p.stderr


def test_check_writable(tmp_path):
    assert sh('l4h_check_writable "%s/new/dir/r.h5"' % tmp_path).returncode == 0
    assert (tmp_path / "new" / "dir").is_dir()
    assert list((tmp_path / "new" / "dir").iterdir()) == []
    (tmp_path / "file").write_text("")
    p = sh('l4h_check_writable "%s/file/sub/r.h5"' % tmp_path)
    assert p.returncode == 1 and "cannot create" in p.stderr


def test_check_imports():
    p = sh("l4h_check_imports /usr/bin/python3 json os.path")
    assert p.returncode == 0 and "imports json os.path" in p.stderr
    p = sh("l4h_check_imports /usr/bin/python3 json no_such_module_l4h")
    assert p.returncode == 1 and "no_such_module_l4h" in p.stderr and "json (" not in p.stderr
    p = sh("l4h_check_imports /nonexistent/python3 json")
    assert p.returncode == 1 and "does not exist" in p.stderr


def test_redact_url():
    p = sh("l4h_redact_url http://user:pw@proxy.example:3128; l4h_redact_url https://h.example/x@y")
    assert p.stdout.split() == ["http://proxy.example:3128", "https://h.example/x@y"]


def test_check_endpoint_answers(http_server):
    url = "http://127.0.0.1:%d/v1" % http_server.server_address[1]
    p = sh('l4h_check_endpoint local "%s"' % url)
    assert p.returncode == 0 and "answered HTTP 200" in p.stderr


def test_check_endpoint_refused_fails_fast_naming_it():
    url = "http://127.0.0.1:%d/v1" % closed_port()
    t0 = time.monotonic()
    p = sh('l4h_check_endpoint cborg "%s"' % url, env={"LLM4HEP_PREFLIGHT_TIMEOUT": "4"})
    assert p.returncode == 1
    assert "endpoint 'cborg' (%s) does not answer" % url in p.stderr
    assert time.monotonic() - t0 < 10


def test_check_endpoint_goes_through_https_proxy_env(http_server):
    proxy = "http://user:secret@127.0.0.1:%d" % http_server.server_address[1]
    del http_server.seen[:]
    # A name that cannot resolve: only the proxy can answer for it.
    p = sh('l4h_check_endpoint far "http://llm4hep-endpoint.invalid/v1"',
           env={"http_proxy": proxy, "https_proxy": proxy})
    assert p.returncode == 0, p.stderr
    assert "through proxy http://127.0.0.1:" in p.stderr and "secret" not in p.stderr
    assert "http://llm4hep-endpoint.invalid/v1" in http_server.seen


# ------------------------------------------------------------------ restarts

@pytest.mark.parametrize("rc,qos,restarts,cap,mode,want", [
    (0, "regular_1", 0, 8, "requeue", "done"),
    (4, "regular_1", 0, 8, "requeue", "requeue"),
    (4, "", 3, 8, "requeue", "requeue"),          # QOS unknown (accounting off)
    (4, "regular_1", 8, 8, "requeue", "stop"),    # cap reached
    (4, "debug", 0, 8, "requeue", "stop"),        # never in debug
    (4, "debug", 0, 8, "resubmit", "stop"),
    (4, "regular_0", 1, 8, "resubmit", "resubmit"),
    (4, "", 0, 8, "resubmit", "resubmit"),
    (4, "premium", 0, 8, "resubmit", "stop"),     # resubmit in regular only
    (4, "regular_1", 0, 8, "none", "stop"),
    (2, "regular_1", 0, 8, "requeue", "fail"),
    (3, "regular_1", 0, 8, "requeue", "fail"),
    (137, "regular_1", 0, 8, "requeue", "fail"),
])
def test_restart_decision(rc, qos, restarts, cap, mode, want):
    p = sh('l4h_restart_decision %d "%s" %d %d %s' % (rc, qos, restarts, cap, mode))
    assert p.stdout.strip() == want


def test_job_qos_from_env_and_scontrol(tmp_path):
    assert sh("l4h_job_qos", env={"SLURM_JOB_QOS": "debug"}).stdout.strip() == "debug"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe(bindir / "scontrol", "#!/bin/sh\necho 'JobId=7 JobName=x'\necho '   Priority=1 QOS=(null)'\n")
    env = {"SLURM_JOB_ID": "7", "PATH": "%s:/usr/bin:/bin" % bindir}
    assert sh("unset SLURM_JOB_QOS; l4h_job_qos", env=env).stdout.strip() == ""


SHOW_JOB = """JobId=42 JobName=llm4hep
   UserId=u(1) GroupId=g(1) MCS_label=N/A
   Priority=1 Nice=0 Account=m1234 QOS=regular_1
   JobState=RUNNING Reason=None Dependency=(null)
   RunTime=00:10:00 TimeLimit=04:00:00 TimeMin=N/A
   NumNodes=2 NumCPUs=512 NumTasks=64 CPUs/Task=1 ReqB:S:C:T=0:0:*:*
   Features=gpu DelayBoot=00:00:00
   Command=/global/u/x/llm4hep/slurm/sweep.sh --gpu config.yml
   WorkDir=/pscratch/x
   StdOut=/pscratch/x/llm4hep-42.out
   TresPerNode=gres:gpu:4
"""


def test_resubmit_args_repeat_the_job_shape(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe(bindir / "scontrol", "#!/bin/sh\ncat <<'EOF'\n%sEOF\n" % SHOW_JOB)
    env = {"PATH": "%s:/usr/bin:/bin" % bindir, "SLURM_JOB_ID": "42", "SLURM_JOB_NAME": "llm4hep",
           "SLURM_JOB_NUM_NODES": "2", "SLURM_NTASKS_PER_NODE": "32", "SLURM_NTASKS": "64",
           "SLURM_SUBMIT_DIR": "/pscratch/x", "SLURM_JOB_ACCOUNT": "m1234_g",
           "SLURM_JOB_QOS": "regular_1"}
    p = sh("l4h_resubmit_args", env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[:-1] == [
        "--dependency=afterany:42", "--job-name=llm4hep", "--nodes=2", "--chdir=/pscratch/x",
        "--open-mode=append", "--ntasks-per-node=32", "--time=04:00:00", "--account=m1234_g",
        "--qos=regular_1", "--constraint=gpu", "--output=/pscratch/x/llm4hep-42.out",
        "--gpus-per-node=4"]


@pytest.mark.parametrize("lead,grace", [(300, 285), (120, 105), (60, 45), (30, 15), (8, 5)])
def test_drain_grace(lead, grace):
    assert sh("l4h_drain_grace %d" % lead).stdout.strip() == str(grace)


# ------------------------------------------------------------------ launch, GPU

@pytest.mark.parametrize("args,env,want", [
    ("srun 0 0", {}, "srun --cpu-bind=none"),
    ("srun 0 0", {"LLM4HEP_SRUN_MPI": "pmix"}, "srun --cpu-bind=none --mpi=pmix"),
    ("srun 1 0", {}, "srun --cpu-bind=none --gpu-bind=none"),
    ("srun 1 1", {}, "srun --cpu-bind=none --gpu-bind=none --overlap"),
    ("mpirun 0 0", {"SLURM_NTASKS": "64"}, "mpirun -np 64"),
])
def test_launch_cmd(args, env, want):
    p = sh("l4h_launch_cmd " + args, env=dict({"LLM4HEP_SRUN_MPI": ""}, **env))
    assert p.returncode == 0 and " ".join(p.stdout.split()) == want


def test_launch_cmd_rejects_unknown():
    p = sh("l4h_launch_cmd aprun 0 0")
    assert p.returncode == 1 and "aprun" in p.stderr


@pytest.mark.parametrize("localid,n,visible,want", [
    (0, 4, "", "0"), (5, 4, "", "1"), (3, 4, "4,5,6,7", "7"), (6, 4, "4,5,6,7", "6"),
    (2, 1, "3", "3"),
])
def test_gpu_for_rank(localid, n, visible, want):
    assert sh('l4h_gpu_for_rank %d %d "%s"' % (localid, n, visible)).stdout.strip() == want


def test_gpu_count_sources(tmp_path):
    base = "unset CUDA_VISIBLE_DEVICES SLURM_GPUS_ON_NODE; "
    assert sh(base + "CUDA_VISIBLE_DEVICES=0,1,2 l4h_gpu_count").stdout.strip() == "3"
    assert sh(base + "SLURM_GPUS_ON_NODE=4 l4h_gpu_count").stdout.strip() == "4"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe(bindir / "nvidia-smi", "#!/bin/sh\necho 'GPU 0: A100 (UUID: a)'\necho 'GPU 1: A100 (UUID: b)'\n")
    env = {"PATH": "%s:/usr/bin:/bin" % bindir}
    assert sh(base + "l4h_gpu_count", env=env).stdout.strip() == "2"
    assert sh(base + "l4h_gpu_count", env={"PATH": "/usr/bin:/bin"}).stdout.strip() == "0"


def test_rank_exec_makes_tmpdir_and_picks_gpu(tmp_path):
    tmp = tmp_path / "node-tmp" / "job"
    p = sh('l4h_rank_exec bash -c \'echo "tmp=$([[ -d $TMPDIR ]] && echo yes) gpu=${CUDA_VISIBLE_DEVICES-unset}"\'',
           env={"TMPDIR": str(tmp), "L4H_GPU": "1", "SLURM_LOCALID": "5",
                "CUDA_VISIBLE_DEVICES": "0,1,2,3"})
    assert p.stdout.strip() == "tmp=yes gpu=1"
    # Under mpirun every rank inherits the batch shell's SLURM_LOCALID=0.
    p = sh('l4h_rank_exec bash -c \'echo "gpu=$CUDA_VISIBLE_DEVICES"\'',
           env={"TMPDIR": str(tmp), "L4H_GPU": "1", "SLURM_LOCALID": "0",
                "OMPI_COMM_WORLD_LOCAL_RANK": "3", "SLURM_GPUS_ON_NODE": "4"})
    assert p.stdout.strip() == "gpu=3"
    p = sh('unset CUDA_VISIBLE_DEVICES; l4h_rank_exec bash -c \'echo "gpu=${CUDA_VISIBLE_DEVICES-unset}"\'',
           env={"TMPDIR": str(tmp), "L4H_GPU": "0", "SLURM_LOCALID": "5", "SLURM_GPUS_ON_NODE": "4"})
    assert p.stdout.strip() == "gpu=unset"


# ------------------------------------------------------------------ vLLM

FAKE_VLLM = r"""#!/usr/bin/python3
# Stand-in for `vllm serve MODEL --host H --port P ...`: answers /v1/models.
import http.server, json, sys
args = sys.argv[1:]
assert args[0] == "serve", args
model, port = args[1], int(args[args.index("--port") + 1])
if model == "crash":
    sys.exit("cannot load model crash")
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": model}]}).encode()
        self.send_response(200 if self.path.endswith("/v1/models") else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
print("serving", model, "on", port, flush=True)
http.server.HTTPServer(("0.0.0.0", port), H).serve_forever()
"""


def test_vllm_cmd():
    p = sh("l4h_vllm_cmd meta/llama 8123 4",
           env={"LLM4HEP_VLLM_ARGS": "--served-model-name local/llama --max-model-len 32768"})
    assert p.stdout.split() == ["vllm", "serve", "meta/llama", "--host", "0.0.0.0", "--port", "8123",
                                "--tensor-parallel-size", "4", "--served-model-name", "local/llama",
                                "--max-model-len", "32768"]


def test_vllm_start_wait_survives_usr1_stop(tmp_path):
    fake = exe(tmp_path / "vllm", FAKE_VLLM)
    log = tmp_path / "vllm.log"
    code = """
        l4h_vllm_start some/model "%s" || exit 10
        echo "url=$L4H_VLLM_URL local=$LLM4HEP_LOCAL_URL"
        l4h_vllm_wait "$L4H_VLLM_URL" "$L4H_VLLM_PID" "%s" 30 || exit 11
        kill -USR1 -- -$L4H_VLLM_PID       # the time-limit warning reaches every step
        sleep 0.5
        curl -sf "$L4H_VLLM_URL/models" >/dev/null || exit 12
        l4h_vllm_stop "$L4H_VLLM_PID"
        kill -0 "$L4H_VLLM_PID" 2>/dev/null && exit 13
        pgrep -f "$LLM4HEP_VLLM_BIN serve" >/dev/null && exit 14
        exit 0
    """ % (log, log)
    p = sh(code, env={"LLM4HEP_VLLM_BIN": str(fake), "LLM4HEP_VLLM_HOST": "127.0.0.1",
                      "SLURM_JOB_ID": ""}, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr + log.read_text()
    url = p.stdout.split()[0].split("=", 1)[1]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    assert "local=" + url in p.stdout
    assert "serving some/model" in log.read_text()


def test_vllm_wait_fails_fast_when_server_dies(tmp_path):
    fake = exe(tmp_path / "vllm", FAKE_VLLM)
    log = tmp_path / "vllm.log"
    t0 = time.monotonic()
    p = sh('l4h_vllm_start crash "%s"; l4h_vllm_wait "$L4H_VLLM_URL" "$L4H_VLLM_PID" "%s" 60' % (log, log),
           env={"LLM4HEP_VLLM_BIN": str(fake), "SLURM_JOB_ID": ""})
    assert p.returncode == 1
    assert "exited before answering" in p.stderr and "cannot load model crash" in p.stderr
    assert time.monotonic() - t0 < 20
