"""test_agent_loop.py — the loop's edge cases with scripted models written
here: answers without code, several code blocks, a missing verdict line,
an unknown tool, a coder that keeps calling tools, trials. Tiny data and a
reference built in a temp dir; real sandbox and checks."""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from conftest import BIN, HGG_SUITE as SUITE, SRC
DEMO = os.path.join(SRC, "reference", "hgg", "scripted")

MODELS = {
    # iteration 1: prose only; review 1 has no verdict line; iteration 2: two
    # python blocks and a bash block (the last python block runs); DONE.
    "odd.yml": """
usage: {prompt_tokens: 10, completion_tokens: 5}
steps:
  create_numpy:
    supervisor:
      - "Plan: write the arrays.\\nVERDICT: CONTINUE"
      - "Please write the code this time."
      - "Fine.\\nVERDICT: DONE"
    coder:
      - {text: "I would first look at the files, then write arrays."}
      - {text: "Draft:\\n```python\\nraise SystemExit('the draft ran')\\n```\\nFinal:\\n```python\\nprint('final block ran')\\n```\\nRun with:\\n```bash\\npython x.py\\n```\\n"}
""",
    # never any code
    "mute.yml": """
steps:
  create_numpy:
    supervisor: ["Plan.\\nVERDICT: CONTINUE", "Where is the code?\\nVERDICT: CONTINUE"]
    coder: [{text: "Let me think about it."}]
""",
    # a tool the step does not offer
    "lost.yml": """
steps:
  create_numpy:
    supervisor: ["Plan.\\nVERDICT: CONTINUE", "Ok.\\nVERDICT: DONE"]
    coder:
      - {tool_calls: [{name: read_root_file, arguments: '{"path": "x"}'}]}
      - {text: "```python\\nprint('no tool then')\\n```"}
""",
    # calls the (real) tool forever
    "loopy.yml": """
steps:
  categorization:
    supervisor: ["Plan.\\nVERDICT: CONTINUE", "Stop calling the tool.\\nVERDICT: CONTINUE"]
    coder:
      - {tool_calls: [{name: evaluate_boundaries, arguments: '{"boundaries": [0.5]}'}]}
""",
}


def run(args, env, timeout=600):
    return subprocess.run([BIN] + args, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def world():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="llm4hep-loop-"))
    tmp.chmod(0o755)  # under bubblewrap the code runs as uid 65534
    try:
        (tmp / "scratch").mkdir()
        models = tmp / "models"
        models.mkdir()
        for name, text in MODELS.items():
            (models / name).write_text(text)
        env = dict(os.environ)
        env.update(LLM4HEP_HGG_DATA=str(tmp / "data"), LLM4HEP_HGG_REF=str(tmp / "ref"),
                   LLM4HEP_HGG_SIZE="tiny", NO_COLOR="1")
        r = run(["reference", SUITE], env, timeout=900)
        assert r.returncode == 0, r.stdout + r.stderr
        cfg = tmp / "loop.yml"
        cfg.write_text(
            "name: agent-loop\nsuite: %s\noutput: %s\nscratch: %s\nmax_iterations: 2\n"
            "models: [t/odd]\n"
            "endpoints: {mine: {provider: scripted, dir: %s}, demo: {provider: scripted, dir: %s}}\n"
            "model_defaults: {endpoint: mine}\n"
            "models_config: {scripted/variable: {endpoint: demo}}\n"
            % (SUITE, tmp / "loop.h5", tmp / "scratch", models, DEMO))
        yield {"tmp": tmp, "env": env, "cfg": str(cfg)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def task(world, step, model, *extra):
    out = world["tmp"] / ("out-%s-%s-%s" % (step, model.replace("/", "_"), "-".join(extra)))
    shutil.rmtree(out, ignore_errors=True)
    r = run(["run", world["cfg"], "--step", step, "--model", model, "--validate",
             "--out-dir", str(out)] + list(extra), world["env"])
    rec = json.loads((out / "task.json").read_text())
    return r, rec


def request(rec, agent, call):
    c = [c for c in rec["calls"] if c["agent"] == agent and c["call"] == call]
    assert len(c) == 1
    return json.loads(c[0]["request"])["messages"]


def test_no_code_then_the_last_python_block(world):
    r, rec = task(world, "create_numpy", "t/odd")
    assert rec["iterations"] == 2 and rec["approved"] == 1
    codes = [e for e in rec["execs"] if e["kind"] == "code"]
    assert len(codes) == 1 and codes[0]["iteration"] == 2
    assert codes[0]["stdout_text"].strip() == "final block ran"
    # the supervisor heard that iteration 1 held no code, and (in review 2)
    # that its previous message had no verdict line
    review1 = request(rec, "supervisor", 1)[-1]["content"]
    assert "held no code" in review1 and "I would first look at the files" in review1
    review2 = request(rec, "supervisor", 2)[-1]["content"]
    assert "did not end with a line `VERDICT: DONE`" in review2
    assert "the last of several python blocks" in review2
    # the clean code wrote no arrays: the checks fail
    assert rec["status"] == "failed_validation" and r.returncode == 1
    assert "no verdict line" in r.stdout


def test_never_any_code_is_failed_no_code(world):
    r, rec = task(world, "create_numpy", "t/mute")
    assert r.returncode == 1
    assert rec["status"] == "failed_no_code"
    assert rec["iterations"] == 2 and rec["checks"] == [] and rec["execs"] == []


def test_an_unknown_tool_goes_back_as_an_error(world):
    r, rec = task(world, "create_numpy", "t/lost")
    tool = [e for e in rec["execs"] if e["kind"] == "tool"]
    assert len(tool) == 1 and tool[0]["exit_code"] == 2
    assert tool[0]["stderr_text"].startswith("tool error: unknown tool 'read_root_file'")
    assert "offers no tools" in tool[0]["stderr_text"]
    msgs = request(rec, "coder", 1)
    assert msgs[-1]["role"] == "tool" and msgs[-1]["content"].startswith("tool error:")
    # a step without tools offers none to the model
    assert "tools" not in json.loads(rec["calls"][1]["request"])
    assert rec["error_category"] == "function_calling"


def test_tool_rounds_are_bounded(world):
    r, rec = task(world, "categorization", "t/loopy")
    coder = [c for c in rec["calls"] if c["agent"] == "coder"]
    tools = [e for e in rec["execs"] if e["kind"] == "tool"]
    # per iteration: one answer + 8 tool rounds = 9 coder calls, 8 tool runs
    assert len(coder) == 18 and len(tools) == 16
    assert [c["call"] for c in coder] == list(range(18))
    assert all(t["exit_code"] == 0 for t in tools)
    assert rec["status"] == "failed_no_code"
    review = request(rec, "supervisor", 1)[-1]["content"]
    assert "kept calling tools" in review
    # the offered tools are in every coder request
    body = json.loads(coder[0]["request"])
    assert body["tools"][0]["function"]["name"] == "evaluate_boundaries"


def test_trials_reach_the_scripted_model(world):
    r1, rec1 = task(world, "preprocess", "scripted/variable", "--trial", "1")
    r2, rec2 = task(world, "preprocess", "scripted/variable", "--trial", "2")
    assert rec1["status"] == "success" and r1.returncode == 0, r1.stdout + r1.stderr
    assert rec2["trial"] == 2 and rec2["key"] != rec1["key"]
    assert rec2["status"] == "failed_validation" and rec2["approved"] == 1
    assert rec2["error_category"] == "semantic"


def test_the_campaign_cost_limit_stops_the_loop(world):
    # 1.9 USD a call: after the plan 1.9, after the first coder answer 3.8 >= 3;
    # that answer's code still runs, then no further call is made
    cfg = world["tmp"] / "cost.yml"
    cfg.write_text(
        "name: agent-cost\nsuite: %s\noutput: %s\nscratch: %s\nmodels: [scripted/careful]\n"
        "endpoints: {demo: {provider: scripted, dir: %s}}\nmodel_defaults: {endpoint: demo}\n"
        "prices: {scripted/careful: {input_per_mtok: 1000, output_per_mtok: 1000}}\n"
        "limits: {campaign_usd: 3}\n"
        % (SUITE, world["tmp"] / "cost.h5", world["tmp"] / "scratch", DEMO))
    out = world["tmp"] / "out-cost"
    r = run(["run", str(cfg), "--step", "create_numpy", "--model", "scripted/careful",
             "--validate", "--out-dir", str(out)], world["env"])
    rec = json.loads((out / "task.json").read_text())
    assert r.returncode == 1, r.stdout + r.stderr
    assert rec["status"] == "failed_limit"
    assert [c["agent"] for c in rec["calls"]] == ["supervisor", "coder"]
    assert abs(rec["cost_usd"] - 3.8) < 1e-9
    assert len([e for e in rec["execs"] if e["kind"] == "code"]) == 1
    assert "campaign cost limit" in rec["error_summary"]
