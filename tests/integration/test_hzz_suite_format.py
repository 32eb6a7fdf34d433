"""reference/hzz/suite.yml and suite-atlas.yml: loaded by the C suite loader
(`llm4hep validate`), their prompts' placeholders and named files, the
scripted demo models against the scripted format, the atlas fetcher's file
list. Fast (no data generated).

Run: /usr/bin/python3 -m pytest -q tests/integration/test_hzz_suite_format.py
"""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import BIN, HZZ_SUITE

SUITE_DIR = os.path.dirname(HZZ_SUITE)
STEPS = ["summarize", "leptons", "quadruplets", "background", "mass_window"]
PLACEHOLDERS = {"workspace", "data_dir", "reference_dir", "step", "step_number", "inputs", "files"}


def load(name):
    with open(os.path.join(SUITE_DIR, name)) as fh:
        return yaml.safe_load(fh)


def resolve(path):
    return os.path.normpath(os.path.join(SUITE_DIR, path))


@pytest.mark.parametrize("name,env", [("suite.yml", "LLM4HEP_HZZ_REF"), ("suite-atlas.yml", "LLM4HEP_HZZ_ATLAS_REF")])
def test_the_c_loader_accepts_the_suite(name, env):
    """validate loads the suite and runs step 4's check on a hand-made answer:
    exit 0 when it equals the reference, 1 when one number is off. (The check
    runs as an unprivileged user: a directory others can search, not pytest's.)"""
    import tempfile
    from pathlib import Path
    tmp_path = Path(tempfile.mkdtemp(prefix="llm4hep-hzz-format-"))
    os.chmod(tmp_path, 0o755)
    try:
        loader_accepts(tmp_path, name, env)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def loader_accepts(tmp_path, name, env):
    ref, out = tmp_path / "ref", tmp_path / "out"
    ref.mkdir()
    out.mkdir()
    good = {"n_data_cr": 10, "zz_cr": 9.0, "other_cr": 0.5, "mu_zz": 1.0555555555555556,
            "zz_sr_mc": 2.0, "b_sr": 2.111111111111111, "s_sr": 5.0}
    (ref / "background.json").write_text(json.dumps(good))
    (out / "background.json").write_text(json.dumps(good))
    e = {**os.environ, env: str(ref), "LLM4HEP_HZZ_DATA": str(tmp_path), "LLM4HEP_HZZ_ATLAS_DATA": str(tmp_path)}
    argv = [BIN, "validate", os.path.join(SUITE_DIR, name), "--step", "background", "--out-dir", str(out)]
    p = subprocess.run(argv, capture_output=True, text=True, env=e, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    (out / "background.json").write_text(json.dumps({**good, "b_sr": 2.2}))
    p = subprocess.run(argv, capture_output=True, text=True, env=e, timeout=120)
    assert p.returncode == 1 and "max_rel_diff" in p.stdout, p.stdout + p.stderr


def placeholders(text):
    return set(re.findall(r"\{\{([^}]*)\}\}", text))


@pytest.mark.parametrize("name", ["suite.yml", "suite-atlas.yml"])
def test_prompts_name_their_files_and_use_known_placeholders(name):
    s = load(name)
    assert [st["name"] for st in s["steps"]] == STEPS
    for p in s["prompts"].values():
        text = open(resolve(p)).read()
        assert placeholders(text) <= PLACEHOLDERS and "H->ZZ*->4l" in text and "gamma" not in text, p
    for st in s["steps"]:
        text = open(resolve(st["prompt"])).read()
        assert placeholders(text) <= PLACEHOLDERS and "{{workspace}}" in text, st["prompt"]
        assert not re.search(r"/work/|/tmp/|/home/", text)
        for c in st["checks"]:
            if "file" in c:
                assert c["file"] in text, (st["prompt"], c["file"])
            if c["type"] == "command":
                assert c["run"][0] == "python" and os.path.isfile(resolve(c["run"][1]))
                assert "{{workspace}}" in c["run"] and "{{reference_dir}}" in c["run"]
        for rel in st.get("stage", []):
            assert rel in text, (st["prompt"], rel)
        for t in st.get("tools", []):
            assert t["name"] in text and os.path.isfile(resolve(t["command"][1]))


def test_suites_differ_only_in_the_reading_steps():
    syn, atlas = load("suite.yml"), load("suite-atlas.yml")
    assert syn["prompts"] == atlas["prompts"]
    for a, b in zip(syn["steps"], atlas["steps"]):
        if a["name"] in ("summarize", "leptons"):
            assert a["prompt"] != b["prompt"] and a["checks"] == b["checks"]
        else:
            assert a == b, a["name"]
    assert "uproot" in atlas["requires"] and "--format" in atlas["solution"]
    # both name the same validity cases (llm4hep selftest)
    assert syn["validity"] == atlas["validity"] == "../../tests/validity/hzz"


def test_scripted_models_name_existing_answers_and_steps():
    sdir = os.path.join(SUITE_DIR, "scripted")
    models = sorted(f for f in os.listdir(sdir) if f.endswith(".yml"))
    assert models == ["careful.yml", "sloppy.yml"]
    for m in models:
        y = load(os.path.join("scripted", m))
        assert set(y["steps"]) == set(STEPS) and y["description"]
        for step, agents in y["steps"].items():
            assert agents["supervisor"][-1].rstrip().endswith(("VERDICT: DONE", "VERDICT: CONTINUE"))
            for ans in agents["coder"]:
                if "code_file" in ans:
                    assert os.path.isfile(os.path.join(sdir, ans["code_file"])), ans
                for call in ans.get("tool_calls", []):
                    assert call["name"] == "evaluate_window" and json.loads(call["arguments"])


def test_atlas_fetcher_lists_the_release_files():
    out = subprocess.run([sys.executable, os.path.join(SUITE_DIR, "gen", "fetch_atlas.py"),
                          "--out", "/nonexistent/x", "--dry-run"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert len(out) == 10 and out[0].endswith("/4lep/Data/data_A.4lep.root")
    assert any(u.endswith("/MC/mc_363490.llll.4lep.root") for u in out)
