"""test_agent_run.py — `llm4hep reference` and `llm4hep run` end to end with the
scripted demo models (reference/hgg/scripted/), on tiny synthetic data built in
a temp dir, through the scripted backend and through the HTTP test server
(tests/server/llm_server.py). Real sandbox (isolation auto), real checks."""
import json
import os
import shutil
import subprocess
import sys

import pytest

BIN = os.environ.get("LLM4HEP_BIN", "build/llm4hep")
SRC = os.environ.get("LLM4HEP_SOURCE_DIR", os.getcwd())
PY = os.environ.get("LLM4HEP_PYTHON", "/usr/bin/python3")
SUITE = os.path.join(SRC, "reference", "hgg", "suite.yml")
SCRIPTED = os.path.join(SRC, "reference", "hgg", "scripted")
SERVER = os.path.join(SRC, "tests", "server", "llm_server.py")
STEPS = ["summarize_root", "create_numpy", "preprocess", "scores", "categorization"]

# The demo models (reference/hgg/scripted/*.yml): one fixes its mistake, one
# does not, one sends malformed tool arguments.
CAREFUL = "scripted/careful"
STUBBORN = "scripted/stubborn"
CLUMSY = "scripted/clumsy"


def run(args, env, timeout=600):
    return subprocess.run([BIN] + args, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Tiny data, the reference (built and self-checked once) and two configs."""
    tmp = tmp_path_factory.mktemp("agent")
    env = dict(os.environ)
    env.update(LLM4HEP_HGG_DATA=str(tmp / "data"), LLM4HEP_HGG_REF=str(tmp / "ref"),
               LLM4HEP_HGG_SIZE="tiny", NO_COLOR="1")
    r = run(["reference", SUITE, "--check"], env, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp / "ref" / "manifest.json").is_file()
    assert "every check passes" in r.stdout

    server = subprocess.Popen([PY, SERVER, "--port", "0", "--scripted-dir", SCRIPTED],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    port = int(server.stdout.readline().strip())
    configs = {}
    for kind, endpoint in (("scripted", "{provider: scripted, dir: %s}" % SCRIPTED),
                           ("http", "{base_url: 'http://127.0.0.1:%d/v1'}" % port)):
        path = tmp / ("%s.yml" % kind)
        path.write_text(
            "name: agent-test-%s\n"
            "suite: %s\n"
            "output: %s\n"
            "scratch: %s\n"
            "max_iterations: 4\n"
            "endpoints: {demo: %s}\n"
            "model_defaults: {endpoint: demo, temperature: 0}\n"
            "limits: {exec_timeout_s: 300, task_wall_s: 900}\n"
            "retry: {max_attempts: 2, base_s: 0.1, max_s: 0.2}\n"
            % (kind, SUITE, tmp / ("%s.h5" % kind), tmp / "scratch", endpoint))
        configs[kind] = str(path)
    yield {"tmp": tmp, "env": env, "configs": configs, "port": port}
    server.terminate()
    server.wait(timeout=10)


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
    tool_errors = [e for e in rec["execs"] if e["kind"] == "tool" and e["exit_code"] == 2]
    assert tool_errors and tool_errors[0]["stderr_text"].startswith("tool error:")
    # the error went back to the coder as a tool message, and the coder was asked again
    coder_calls = [c for c in rec["calls"] if c["agent"] == "coder"]
    assert len(coder_calls) >= 2
    msgs = json.loads(coder_calls[1]["request"])["messages"]
    assert msgs[-1]["role"] == "tool" and msgs[-1]["content"].startswith("tool error:")
    assert msgs[-2]["role"] == "assistant" and msgs[-2]["tool_calls"]


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


def test_run_refuses_a_reference_that_does_not_match(world):
    manifest = world["tmp"] / "ref" / "manifest.json"
    saved = manifest.read_text()
    try:
        m = json.loads(saved)
        m["data"][0]["sha256"] = "0" * 64
        manifest.write_text(json.dumps(m))
        r = run(["run", world["configs"]["scripted"], "--step", "create_numpy", "--model", CAREFUL,
                 "--validate"], world["env"])
        assert r.returncode == 2
        assert "changed since the reference was built" in r.stderr
        assert m["data"][0]["path"] in r.stderr
    finally:
        manifest.write_text(saved)
