"""suite.yml and suite-atlas.yml against DESIGN.md's suite format, their
prompts' placeholders, and the scripted demo models against the scripted
format — until the C config loader can load them (then also through it).

Run: /usr/bin/python3 -m pytest -q tests/integration/test_hgg_suite_format.py
"""
import glob
import os
import re
import subprocess
import sys

import pytest
import yaml

from conftest import BIN, HGG_SUITE

SUITE_DIR = os.path.dirname(HGG_SUITE)
SUITES = ["suite.yml", "suite-atlas.yml"]
STEPS = ["summarize_root", "create_numpy", "preprocess", "scores", "categorization"]
PLACEHOLDERS = {"workspace", "data_dir", "reference_dir", "step", "step_number", "inputs", "files"}
TOP_KEYS = {"name", "data_dir", "reference_dir", "generate", "solution", "requires", "prompts", "steps"}
STEP_KEYS = {"name", "prompt", "stage", "tools", "checks"}
CHECK_KEYS = {"array": {"type", "file", "sig_digits", "zero_floor"},
              "text": {"type", "file", "patterns"},
              "command": {"type", "run", "expect"}}


def load(name):
    with open(os.path.join(SUITE_DIR, name)) as fh:
        return yaml.safe_load(fh)


def resolve(path):
    return os.path.normpath(os.path.join(SUITE_DIR, path))


def placeholders(text):
    return set(re.findall(r"\{\{([^}]*)\}\}", text))


def check_argv(argv, where):
    assert isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv), where
    assert argv[0] == "python", where
    assert os.path.isfile(resolve(argv[1])), f"{where}: {argv[1]} is not a file next to the suite"
    for a in argv:
        assert placeholders(a) <= PLACEHOLDERS, (where, a)


@pytest.mark.parametrize("name", SUITES)
def test_suite_follows_the_design_format(name):
    s = load(name)
    assert TOP_KEYS <= set(s) <= TOP_KEYS | {"validity"}, set(s) ^ TOP_KEYS
    if "validity" in s:     # the validity cases of `llm4hep selftest`
        assert os.path.isdir(resolve(s["validity"])), s["validity"]
    assert isinstance(s["name"], str) and re.fullmatch(r"[a-z0-9-]+", s["name"])
    for key in ("data_dir", "reference_dir"):
        assert re.fullmatch(r"\$\{[A-Z0-9_]+:-[A-Za-z0-9_.-]+\}", s[key]), (key, s[key])
    check_argv(s["generate"], "generate")
    assert "{{data_dir}}" in s["generate"]
    check_argv(s["solution"], "solution")
    assert {"{{step_number}}", "{{data_dir}}", "{{workspace}}"} <= set(s["solution"])
    assert isinstance(s["requires"], list) and all(re.fullmatch(r"[a-z_][a-z0-9_]*", m) for m in s["requires"])
    assert set(s["prompts"]) == {"supervisor_first", "supervisor", "coder"}
    for p in s["prompts"].values():
        assert os.path.isfile(resolve(p)), p
    assert [st["name"] for st in s["steps"]] == STEPS
    earlier = []
    for st in s["steps"]:
        assert set(st) <= STEP_KEYS and {"name", "prompt", "checks"} <= set(st), st["name"]
        assert os.path.isfile(resolve(st["prompt"])), st["prompt"]
        for rel in st.get("stage", []):
            assert any(rel in text for text in earlier), f"{st['name']} stages {rel}, no earlier step writes it"
        assert st["checks"], st["name"]
        for c in st["checks"]:
            kind = c.get("type")
            assert kind in CHECK_KEYS and set(c) <= CHECK_KEYS[kind] and "type" in c, c
            if kind == "array":
                assert c["file"].endswith(".npy") and isinstance(c["sig_digits"], int)
                assert isinstance(c["zero_floor"], float) and 0 < c["zero_floor"] < 1e-3
            elif kind == "text":
                assert isinstance(c["patterns"], list) and c["patterns"]
                for p in c["patterns"]:   # POSIX ERE: no \d \s \w shorthands
                    assert not re.search(r"\\[dswDSW]", p), p
                    re.compile(p.replace("[[:space:]]", r"\s"))
            else:
                check_argv(c["run"], f"{st['name']} check")
                assert isinstance(c["expect"], dict) and c["expect"]
                for k, b in c["expect"].items():
                    assert set(b) <= {"min", "max"} and b, (k, b)
                    assert all(isinstance(v, (int, float)) for v in b.values())
        for t in st.get("tools", []):
            assert set(t) == {"name", "description", "parameters", "command"}, t.keys()
            assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", t["name"])
            assert t["parameters"]["type"] == "object" and t["parameters"]["required"]
            check_argv(t["command"], f"tool {t['name']}")
        earlier.append(open(resolve(st["prompt"])).read())


def test_suites_share_prompts_where_the_format_allows():
    syn, atlas = load("suite.yml"), load("suite-atlas.yml")
    assert syn["prompts"] == atlas["prompts"]
    for a, b in zip(syn["steps"], atlas["steps"]):
        if a["name"] in ("summarize_root", "create_numpy"):
            assert a["prompt"] != b["prompt"], "HDF5 vs ROOT inputs"
        else:
            assert a == b, a["name"]
    assert "uproot" in atlas["requires"] and "--format" in atlas["solution"]
    assert "LLM4HEP_ATLAS_DATA" in atlas["data_dir"]
    assert "LLM4HEP_HGG_DATA" in syn["data_dir"] and "LLM4HEP_HGG_REF" in syn["reference_dir"]


@pytest.mark.parametrize("name", SUITES)
def test_prompts_use_only_known_placeholders_and_name_their_outputs(name):
    s = load(name)
    for p in s["prompts"].values():
        text = open(resolve(p)).read()
        assert placeholders(text) <= PLACEHOLDERS, p
    coder = open(resolve(s["prompts"]["coder"])).read()
    assert "LLM4HEP_WORKSPACE" in coder and "LLM4HEP_DATA" in coder and "```python" in coder
    for p in ("supervisor_first", "supervisor"):
        assert "VERDICT: CONTINUE" in open(resolve(s["prompts"][p])).read()
    assert "VERDICT: DONE" in open(resolve(s["prompts"]["supervisor"])).read()
    for st in s["steps"]:
        text = open(resolve(st["prompt"])).read()
        assert placeholders(text) <= PLACEHOLDERS, st["prompt"]
        assert "{{workspace}}" in text and not re.search(r"/work/|/tmp/|/home/", text)
        for c in st["checks"]:
            if "file" in c:
                assert c["file"] in text, f"{st['prompt']} never names {c['file']}"
        for rel in st.get("stage", []):
            assert rel in text, f"{st['prompt']} never names its input {rel}"
        for t in st.get("tools", []):
            assert t["name"] in text


def test_atlas_fetcher_lists_the_release_files():
    out = subprocess.run([sys.executable, os.path.join(SUITE_DIR, "gen", "fetch_atlas.py"),
                          "--out", "/nonexistent/x", "--dry-run"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert len(out) == 9 and out[0].endswith("/GamGam/Data/data_A.GamGam.root")
    assert any(u.endswith("/MC/mc_343981.ggH125_gamgam.GamGam.root") for u in out)


# ------------------------------------------------------------- scripted models

SCRIPTED = sorted(glob.glob(os.path.join(SUITE_DIR, "scripted", "*.yml")))


def answers_of(model):
    for step, agents in model["steps"].items():
        for agent, answers in agents.items():
            yield step, agent, answers
    for trial, steps in (model.get("trials") or {}).items():
        for step, agents in steps.items():
            for agent, answers in agents.items():
                yield step, agent, answers


def test_the_demo_models_exist():
    names = {os.path.basename(p)[:-4] for p in SCRIPTED}
    assert {"careful", "stubborn", "variable", "clumsy"} <= names


@pytest.mark.parametrize("path", SCRIPTED, ids=os.path.basename)
def test_scripted_model_follows_the_format(path):
    with open(path) as fh:
        m = yaml.safe_load(fh)
    assert set(m) <= {"usage", "steps", "trials", "name", "description"} and "steps" in m
    assert set(m["steps"]) == set(STEPS)
    for trial in m.get("trials") or {}:
        assert isinstance(trial, str) and trial.isdigit(), "trial keys are quoted numbers"
    for step, agent, answers in answers_of(m):
        assert step in STEPS and agent in ("supervisor", "coder")
        assert isinstance(answers, list) and answers
        for i, a in enumerate(answers):
            if isinstance(a, str):
                a = {"text": a}
            assert set(a) <= {"text", "code_file", "tool_calls", "usage"} and a, a
            if "code_file" in a:
                code = os.path.join(os.path.dirname(path), a["code_file"])
                assert os.path.isfile(code), a["code_file"]
                src = open(code).read()
                compile(src, code, "exec")
                assert "LLM4HEP_WORKSPACE" in src and not re.search(r"['\"]/(workspace|data)/", src)
            for tc in a.get("tool_calls", []):
                assert set(tc) == {"name", "arguments"} and isinstance(tc["arguments"], str)
            if agent == "supervisor" and step in m["steps"] and i > 0:
                last = a["text"].rstrip().splitlines()[-1]
                assert last in ("VERDICT: DONE", "VERDICT: CONTINUE"), (step, last)


def test_scripted_stories():
    """The behaviours the demo relies on (see each file's description)."""
    m = {os.path.basename(p)[:-4]: yaml.safe_load(open(p)) for p in SCRIPTED}
    cn = m["careful"]["steps"]["create_numpy"]
    assert [a["code_file"] for a in cn["coder"]] == ["answers/create_numpy_wrong_branch.py", "answers/create_numpy.py"]
    assert [s.splitlines()[-1] for s in cn["supervisor"]] == ["VERDICT: CONTINUE", "VERDICT: CONTINUE", "VERDICT: DONE"]
    st = m["stubborn"]["steps"]["create_numpy"]
    assert st["coder"] == [{"code_file": "answers/create_numpy_wrong_branch.py"}]
    assert st["supervisor"][-1].endswith("VERDICT: CONTINUE")
    assert set(m["variable"]["trials"]) == {"2", "3"}
    cat = m["clumsy"]["steps"]["categorization"]["coder"]
    # the framework's classifier reads the last tool call: keep the malformed one last
    assert cat[-2]["tool_calls"][0]["arguments"] == '{"boundaries": [0.4,'
    assert cat[-1]["code_file"] == "answers/categorization_unsorted.py"


# ------------------------------------------------------------- the real loader

@pytest.mark.parametrize("name", SUITES)
def test_suite_loads_with_the_config_loader(tmp_path, name):
    cfg = tmp_path / "config.yml"
    cfg.write_text(f"""name: hgg-format-test
suite: {os.path.join(SUITE_DIR, name)}
output: {tmp_path}/results.h5
scratch: {tmp_path}
models: [scripted/careful]
endpoints:
  demo: {{provider: scripted, dir: {os.path.join(SUITE_DIR, 'scripted')}}}
model_defaults: {{endpoint: demo}}
""")
    env = {**os.environ, "LLM4HEP_ATLAS_DATA": str(tmp_path / "atlas"), "LLM4HEP_HGG_DATA": str(tmp_path / "data"),
           "LLM4HEP_HGG_REF": str(tmp_path / "ref")}
    p = subprocess.run([BIN, "sweep", str(cfg), "--dry-run"], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    assert "5 steps" in p.stdout
