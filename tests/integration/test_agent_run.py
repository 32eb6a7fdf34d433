"""test_agent_run.py — `llm4hep reference` and `llm4hep run` end to end with the
scripted demo models (reference/hgg/scripted/), on tiny synthetic data built in
a temp dir, through the scripted backend and through the HTTP test server
(tests/server/llm_server.py). Real sandbox (isolation auto), real checks."""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, HGG_SUITE as SUITE, SRC
from llm_testkit import LLMServer

SCRIPTED = os.path.join(SRC, "reference", "hgg", "scripted")
STEPS = ["summarize_root", "create_numpy", "preprocess", "scores", "categorization"]

# The demo models (reference/hgg/scripted/*.yml): one fixes its mistake, one
# does not, one sends malformed tool arguments.
CAREFUL = "scripted/careful"
STUBBORN = "scripted/stubborn"
CLUMSY = "scripted/clumsy"


def run(args, env, timeout=600):
    return subprocess.run([BIN] + args, env=env, capture_output=True, text=True, timeout=timeout)


def write_config(tmp, name, endpoint, limits="exec_timeout_s: 300, task_wall_s: 900"):
    path = tmp / ("%s.yml" % name)
    path.write_text(
        "name: agent-test-%s\n"
        "suite: %s\n"
        "output: %s\n"
        "scratch: %s\n"
        "max_iterations: 4\n"
        "models: [%s, %s, %s]\n"
        "endpoints: {demo: %s}\n"
        "model_defaults: {endpoint: demo, temperature: 0}\n"
        "limits: {%s}\n"
        "retry: {max_attempts: 2, base_s: 0.1, max_s: 0.2}\n"
        % (name, SUITE, tmp / ("%s.h5" % name), tmp / "scratch", CAREFUL, STUBBORN, CLUMSY,
           endpoint, limits))
    return str(path)


@pytest.fixture(scope="module")
def world():
    """Tiny data, the reference (built and self-checked once), the HTTP test
    server and a config per backend. The temp dir is searchable by others:
    under bubblewrap the code runs as uid 65534."""
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="llm4hep-agent-"))
    tmp.chmod(0o755)
    try:
        (tmp / "scratch").mkdir()
        env = dict(os.environ)
        env.update(LLM4HEP_HGG_DATA=str(tmp / "data"), LLM4HEP_HGG_REF=str(tmp / "ref"),
                   LLM4HEP_HGG_SIZE="tiny", NO_COLOR="1")
        r = run(["reference", SUITE], env, timeout=900)
        assert r.returncode == 0, r.stdout + r.stderr
        assert (tmp / "ref" / "manifest.json").is_file()

        with LLMServer(scripted_dir=SCRIPTED) as srv:
            configs = {
                "scripted": write_config(tmp, "scripted", "{provider: scripted, dir: %s}" % SCRIPTED),
                "http": write_config(tmp, "http", "{base_url: '%s'}" % srv.base_url),
            }
            yield {"tmp": tmp, "env": env, "configs": configs, "server": srv}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_task(world, backend, step, model, validate=True, extra=()):
    out = world["tmp"] / ("out-%s-%s-%s-%d" % (backend, step, model.replace("/", "_"), validate))
    shutil.rmtree(out, ignore_errors=True)
    args = ["run", world["configs"][backend], "--step", step, "--model", model,
            "--out-dir", str(out)] + (["--validate"] if validate else []) + list(extra)
    r = run(args, world["env"])
    rec_path = out / "task.json"
    assert rec_path.is_file(), r.stdout + r.stderr
    rec = json.loads(rec_path.read_text())
    return r, rec, out


BACKENDS = ["scripted", "http"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_careful_fixes_its_mistake_in_two_iterations(world, backend):
    r, rec, out = run_task(world, backend, "create_numpy", CAREFUL)
    assert r.returncode == 0, r.stdout + r.stderr
    assert rec["status"] == "success" and rec["success"] == 1
    assert rec["iterations"] == 2 and rec["approved"] == 1
    assert rec["error_category"] == ""
    # plan, coder 1, review 1, coder 2, review 2
    assert [(c["agent"], c["call"], c["iteration"]) for c in rec["calls"]] == [
        ("supervisor", 0, 0), ("coder", 0, 1), ("supervisor", 1, 1),
        ("coder", 1, 2), ("supervisor", 2, 2)]
    codes = [e for e in rec["execs"] if e["kind"] == "code"]
    assert [e["iteration"] for e in codes] == [1, 2]
    assert codes[0]["exit_code"] != 0 and codes[1]["exit_code"] == 0
    assert all(c["passed"] for c in rec["checks"]) and len(rec["checks"]) == 2
    for f in ("generated_code/iter_1.py", "generated_code/iter_2.py", "arrays/data_raw.npy",
              "arrays/signal_raw.npy", "logs/iter_1.stderr"):
        assert (out / f).is_file(), f
    # every request is recorded exactly as sent: valid JSON with the whole history
    last = json.loads(rec["calls"][-1]["request"])
    roles = [m["role"] for m in last["messages"]]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user"]
    coder = json.loads(rec["calls"][3]["request"])
    assert [m["role"] for m in coder["messages"]] == ["system", "user", "assistant", "user"]
    # the coder's second user message is the supervisor's first review verbatim
    assert coder["messages"][3]["content"] == json.loads(rec["calls"][2]["response"])[
        "choices"][0]["message"]["content"]
    assert "status: success" in r.stdout and "supervisor: plan" in r.stdout


@pytest.mark.parametrize("backend", BACKENDS)
def test_stubborn_fails_execution_on_a_wrong_branch(world, backend):
    r, rec, _ = run_task(world, backend, "create_numpy", STUBBORN)
    assert r.returncode == 1, r.stdout + r.stderr
    assert rec["status"] == "failed_execution"
    assert rec["error_category"] == "wrong_branch"
    assert rec["iterations"] == 4 and rec["approved"] == 0
    assert not any(c["passed"] for c in rec["checks"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_malformed_tool_arguments_are_a_function_calling_failure(world, backend):
    r, rec, _ = run_task(world, backend, "categorization", CLUMSY)
    assert r.returncode == 1, r.stdout + r.stderr
    assert rec["status"].startswith("failed_")
    assert rec["error_category"] == "function_calling"
    tools = {e["code"]: e for e in rec["execs"] if e["kind"] == "tool"}
    # the malformed call never ran: exit code 2 and "tool error: ..." (what the classifier reads)
    bad = tools['{"boundaries": [0.4,']
    assert bad["exit_code"] == 2 and bad["stderr_text"].startswith("tool error:")
    # the call with a wrong argument name ran, and the tool itself refused it
    ran = tools['{"boundary": 0.4}']
    assert ran["exit_code"] != 0 and not ran["stderr_text"].startswith("tool error:")
    # each went back to the coder as a tool message answering the assistant's
    # tool call, and the coder was asked again
    coder_calls = [c for c in rec["calls"] if c["agent"] == "coder"]
    assert len(coder_calls) >= 3
    last = json.loads(coder_calls[2]["request"])["messages"]
    assert [m["role"] for m in last] == ["system", "user", "assistant", "tool", "assistant", "tool"]
    assert last[2]["tool_calls"][0]["id"] == last[3]["tool_call_id"]
    assert any(m["content"].startswith("tool error:") for m in (last[3], last[5]))


@pytest.mark.parametrize("step", STEPS)
def test_careful_succeeds_on_every_step(world, step):
    r, rec, _ = run_task(world, "scripted", step, CAREFUL)
    assert r.returncode == 0, r.stdout + r.stderr
    assert rec["status"] == "success", rec["error_summary"]
    assert rec["checks"] and all(c["passed"] for c in rec["checks"])


def test_categorization_runs_the_tool(world):
    r, rec, _ = run_task(world, "scripted", "categorization", CAREFUL)
    assert r.returncode == 0, r.stdout + r.stderr
    tools = [e for e in rec["execs"] if e["kind"] == "tool"]
    assert tools and tools[0]["exit_code"] == 0
    result = json.loads(tools[0]["stdout_text"])
    assert isinstance(result, dict)


def test_without_validate_the_status_follows_the_loop(world):
    r, rec, _ = run_task(world, "scripted", "create_numpy", CAREFUL, validate=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert rec["status"] == "success" and rec["checks"] == []
    assert "run with --validate" in r.stdout
    r, rec, _ = run_task(world, "scripted", "create_numpy", STUBBORN, validate=False)
    assert r.returncode == 1
    assert rec["status"] == "failed_execution" and rec["checks"] == []


def test_bad_usage_names_the_flag(world):
    cfg = world["configs"]["scripted"]
    r = run(["run", cfg, "--model", CAREFUL], world["env"])
    assert r.returncode == 2 and "--step" in r.stderr
    r = run(["run", cfg, "--step", "nosuch", "--model", CAREFUL], world["env"])
    assert r.returncode == 2 and "create_numpy" in r.stderr
    r = run(["run", cfg, "--step", "2", "--model", CAREFUL, "--trial", "zero"], world["env"])
    assert r.returncode == 2 and "--trial" in r.stderr
    r = run(["run", cfg, "--step", "2", "--model", CAREFUL, "--coder", CAREFUL], world["env"])
    assert r.returncode == 2
    r = run(["reference"], world["env"])
    assert r.returncode == 2 and "SUITE" in r.stderr


@pytest.mark.parametrize("change,message", [
    ("data_hash", "changed since the reference was built"),
    ("suite_hash", "built for another version of the suite"),
    ("extra_file", "is not in the manifest"),
    ("no_manifest", "no reference manifest"),
])
def test_run_refuses_a_reference_that_does_not_match(world, change, message):
    manifest = world["tmp"] / "ref" / "manifest.json"
    extra = world["tmp"] / "ref" / "arrays" / "stray.npy"
    saved = manifest.read_text()
    try:
        m = json.loads(saved)
        if change == "data_hash":
            m["data"][0]["sha256"] = "0" * 64
        elif change == "suite_hash":
            m["suite_sha256"] = "f" * 64
        elif change == "extra_file":
            extra.write_bytes(b"x")
        manifest.write_text(json.dumps(m))
        if change == "no_manifest":
            manifest.unlink()
        r = run(["run", world["configs"]["scripted"], "--step", "create_numpy", "--model", CAREFUL,
                 "--validate"], world["env"])
        assert r.returncode == 2, r.stdout + r.stderr
        assert message in r.stderr
        if change == "data_hash":
            assert m["data"][0]["path"] in r.stderr
    finally:
        manifest.write_text(saved)
        if extra.exists():
            extra.unlink()


def test_reference_passes_its_own_checks(world):
    r = run(["reference", SUITE, "--check"], world["env"], timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "data present" in r.stdout  # not generated again
    assert "every check passes" in r.stdout
    manifest = json.loads((world["tmp"] / "ref" / "manifest.json").read_text())
    paths = [f["path"] for f in manifest["reference"]]
    assert "arrays/data_raw.npy" in paths and "manifest.json" not in paths
    assert len(manifest["data"]) == 9 and all(len(f["sha256"]) == 64 for f in manifest["data"])


def test_http_requests_are_recorded_exactly_as_sent(world):
    srv = world["server"]
    since = max([q["seq"] for q in srv.requests()] or [0])
    r, rec, _ = run_task(world, "http", "create_numpy", CAREFUL)
    assert r.returncode == 0, r.stdout + r.stderr
    sent = [q for q in srv.requests(since) if q["path"].endswith("/chat/completions")]
    assert len(sent) == len(rec["calls"]) == 5
    for q, c in zip(sent, rec["calls"]):
        assert q["body"] == c["request"]
        assert q["headers"].get("X-LLM4HEP-Agent") == c["agent"]
        assert int(q["headers"].get("X-LLM4HEP-Call")) == c["call"]


def test_a_model_that_keeps_failing_is_error_api(world):
    srv = world["server"]
    srv.faults([], default={"fault": "status", "status": 500})
    try:
        r, rec, _ = run_task(world, "http", "create_numpy", CAREFUL)
    finally:
        srv.faults([], default={"fault": "normal"})
    assert r.returncode == 3, r.stdout + r.stderr
    assert rec["status"] == "error_api"
    assert rec["calls"] and rec["calls"][0]["attempts"] == 2
    assert rec["checks"] == [] and rec["execs"] == []


def test_a_signal_interrupts_the_task(world):
    srv = world["server"]
    srv.configure(latency="fixed:2")
    out = world["tmp"] / "out-interrupted"
    try:
        seen = len(srv.requests())
        p = subprocess.Popen([BIN, "run", world["configs"]["http"], "--step", "create_numpy",
                              "--model", CAREFUL, "--validate", "--out-dir", str(out)],
                             env=world["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        # the task has begun (its handlers are set) once its first request
        # reaches the server, where it then waits 2 s
        deadline = time.monotonic() + 300
        while len(srv.requests()) <= seen:
            assert p.poll() is None and time.monotonic() < deadline, p.communicate()
            time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=60)
    finally:
        srv.configure(latency="none")
    assert p.returncode == 3, stdout + stderr
    rec = json.loads((out / "task.json").read_text())
    assert rec["status"] == "interrupted"
    assert "status: interrupted" in stdout


def test_the_token_limit_stops_the_loop(world):
    # plan 1900 tokens + coder 1900 = 3800 >= 3000: the first code still runs
    # (its tokens were spent), then the loop stops before the review.
    cfg = write_config(world["tmp"], "tokens", "{provider: scripted, dir: %s}" % SCRIPTED,
                       "task_tokens: 3000")
    out = world["tmp"] / "out-tokens"
    r = run(["run", cfg, "--step", "create_numpy", "--model", CAREFUL, "--validate",
             "--out-dir", str(out)], world["env"])
    rec = json.loads((out / "task.json").read_text())
    assert r.returncode == 1, r.stdout + r.stderr
    assert rec["status"] == "failed_limit"
    assert [c["agent"] for c in rec["calls"]] == ["supervisor", "coder"]
    assert len([e for e in rec["execs"] if e["kind"] == "code"]) == 1
    assert "task_tokens" in rec["error_summary"] or rec["error_category"]


def test_the_task_wall_time_limit_stops_the_loop(world):
    # every answer takes 1.5 s and the task may take 2 s: the coder's call is
    # cut at the deadline, which is the task's limit, not an API failure
    srv = world["server"]
    cfg = write_config(world["tmp"], "wall", "{base_url: '%s'}" % srv.base_url, "task_wall_s: 2")
    out = world["tmp"] / "out-wall"
    srv.configure(latency="fixed:1.5")
    try:
        t0 = time.monotonic()
        r = run(["run", cfg, "--step", "create_numpy", "--model", CAREFUL, "--validate",
                 "--out-dir", str(out)], world["env"])
        took = time.monotonic() - t0
    finally:
        srv.configure(latency="none")
    rec = json.loads((out / "task.json").read_text())
    assert r.returncode == 1, r.stdout + r.stderr
    assert rec["status"] == "failed_limit"
    assert "task_wall_s" in rec["error_summary"]
    assert rec["calls"][0]["agent"] == "supervisor" and len(rec["calls"]) == 2
    assert took < 30
