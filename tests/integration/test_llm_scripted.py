"""The scripted backend on the H->gamma gamma demo models of
reference/hgg/scripted and on the LLM room's fixtures: every position
answers, through the local backend and through the test server alike (one
script drives both paths), code files arrive as fenced python blocks, and
the answers are deterministic."""
import glob
import json
import os
import subprocess

import pytest
import yaml

from conftest import SRC, TOOLS
from llm_testkit import LLMServer

CHAT = os.path.join(TOOLS, "llm_chat")
DIRS = [os.path.join(SRC, "reference", "hgg", "scripted"), os.path.join(SRC, "tests", "fixtures", "llm", "scripted")]
KEYS = ("content", "tool_calls", "finish_reason", "prompt_tokens", "completion_tokens")


def positions(path):
    """Every (step, agent, trial, call) a script answers, one past each list's end too."""
    data = yaml.safe_load(open(path))
    out = []
    trials = {str(k): v for k, v in (data.get("trials") or {}).items()}
    for step, agents in data["steps"].items():
        for agent, answers in agents.items():
            for call in range(len(answers) + 1):
                out.append((step, agent, 1, call))
    for trial, steps in trials.items():
        for step, agents in steps.items():
            for agent, answers in agents.items():
                for call in range(len(answers) + 1):
                    out.append((step, agent, int(trial), call))
    return data, out


def run(args):
    p = subprocess.run([CHAT] + [str(a) for a in args], capture_output=True, text=True, timeout=60)
    lines = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
    return lines[0], p.returncode, p.stderr


SCRIPTS = [p for d in DIRS for p in sorted(glob.glob(os.path.join(d, "*.yml")))
           if os.path.basename(p) not in ("missing_code.yml", "badkey.yml")]


@pytest.mark.parametrize("path", SCRIPTS, ids=[os.path.basename(p) for p in SCRIPTS])
def test_every_position_answers_alike_on_both_paths(path):
    d = os.path.dirname(path)
    model = "scripted/" + os.path.splitext(os.path.basename(path))[0]
    data, pos = positions(path)
    assert pos, f"{path} answers nothing"
    with LLMServer(scripted_dir=d) as srv:
        for step, agent, trial, call in pos:
            where = ["--model", model, "--step", step, "--agent", agent, "--trial", trial, "--call", call]
            local, rc, err = run(["--scripted-dir", d] + where)
            assert rc == 0, (path, step, agent, trial, call, err, local.get("error"))
            again, _, _ = run(["--scripted-dir", d] + where)
            assert again["response_json"] == local["response_json"]  # deterministic
            http, rc, err = run(["--base-url", srv.base_url] + where)
            assert rc == 0, (path, step, agent, trial, call, err, http.get("error"))
            for k in KEYS:
                assert http[k] == local[k], (path, step, agent, trial, call, k)
            assert local["http_status"] == 0 and local["attempts"] == 1
            assert local["cost_usd"] == 0  # scripted and unpriced: free
            if local["content"] and "```python" in local["content"]:
                assert local["content"].endswith("\n```")
            if local["tool_calls"]:
                assert local["finish_reason"] == "tool_calls"
                assert all(t["id"].startswith(f"call_{agent}_{call}_") for t in local["tool_calls"])


def test_code_file_is_sent_verbatim():
    d = DIRS[1]
    out, rc, _ = run(["--scripted-dir", d, "--model", "scripted/demo", "--step", "create_numpy",
                      "--agent", "coder", "--call", 0])
    assert rc == 0
    code = open(os.path.join(d, "answers", "wrong_branch.py")).read()
    assert out["content"] == "```python\n" + code + "```"


def test_server_counts_calls_without_the_call_header():
    d = DIRS[1]
    import urllib.request
    with LLMServer(scripted_dir=d) as srv:
        got = []
        for _ in range(3):
            req = urllib.request.Request(
                srv.base_url + "/chat/completions",
                data=json.dumps({"model": "scripted/demo", "messages": []}).encode(),
                headers={"X-LLM4HEP-Step": "create_numpy", "X-LLM4HEP-Agent": "supervisor",
                         "Content-Type": "application/json"})
            got.append(json.load(urllib.request.urlopen(req))["choices"][0]["message"]["content"])
        assert got[0].startswith("Read every data file") and got[1].startswith("The branch is")
        assert got[2].endswith("VERDICT: DONE")
