"""Verdicts you can trust (issue 12), at the tiny size: the four named wrong
answers fail their checks, right answers laid out differently pass, validate
judges only files the step's own code wrote, the `validity:` suite key, the
validity runner's case format, and `llm4hep selftest`.

The whole validity suite at the default size is test_validity_suite.py.

Run: /usr/bin/python3 -m pytest -q tests/integration/test_hgg_validity.py
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from conftest import BIN, HGG_SUITE as SUITE, PY, SRC
RUNNER = os.path.join(SRC, "tests", "validity", "run.py")
CASES = os.path.join(SRC, "tests", "validity", "hgg")


# The sandbox runs programs as an unprivileged user: everything it mounts must
# be reachable by others (pytest's tmp_path is 0700).
@pytest.fixture(scope="module")
def base():
    d = tempfile.mkdtemp(prefix="l4h_validity_")
    os.chmod(d, 0o755)
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def tmp(base, request):
    d = Path(tempfile.mkdtemp(prefix=request.node.name[:40] + "_", dir=base))
    os.chmod(d, 0o755)
    return d


@pytest.fixture(scope="module")
def hgg(base):
    """The tiny H->gamma gamma data and reference, built by `llm4hep reference`."""
    env = {"LLM4HEP_HGG_DATA": str(base / "data"), "LLM4HEP_HGG_REF": str(base / "ref"),
           "LLM4HEP_HGG_SIZE": "tiny", "TMPDIR": str(base)}
    p = subprocess.run([BIN, "reference", SUITE], capture_output=True, text=True,
                       env=dict(os.environ, **env), timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    return base / "ref", env


def llm4hep(*args, env=None, timeout=600):
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True,
                          env=dict(os.environ, **(env or {})), timeout=timeout)


def candidate(hgg, tmp, name="cand"):
    ref, _ = hgg
    ws = tmp / name
    shutil.copytree(ref, ws)
    (ws / "manifest.json").unlink()
    return ws


def metric_line(out, name):
    return [line for line in out.splitlines() if name in line]


# ------------------------------------------------------------ step 1: summary

def mutate_summary(ws, fn):
    with open(ws / "summary.json") as fh:
        doc = json.load(fh)
    fn(doc)
    with open(ws / "summary.json", "w") as fh:
        json.dump(doc, fh)


def test_reference_summary_passes(hgg, tmp):
    ref, env = hgg
    p = llm4hep("validate", SUITE, "--step", "summarize_root", "--out-dir", candidate(hgg, tmp), env=env)
    assert p.returncode == 0, p.stdout + p.stderr


def vectors_as_scalars(doc):
    for f in doc["files"]:
        for t in f["trees"]:
            for b in t["branches"]:
                if b["type"].startswith("vector<"):
                    b["type"] = b["type"][len("vector<"):-1]
                    b.pop("counts", None)


def totals_wrong(doc):
    doc["totals"] = {"data": 0, "signal_mc": 260000}


def counts_of_other_files(doc):
    e = [f["trees"][0]["entries"] for f in doc["files"]]
    for f, n in zip(doc["files"], e[1:] + e[:1]):
        f["trees"][0]["entries"] = n


@pytest.mark.parametrize("mutate,metric,fragment", [
    (vectors_as_scalars, "types", "is vector<float32> (counts in jet_n), the answer says"),
    (totals_wrong, "totals", "totals.data 0, the files add up to"),
    (counts_of_other_files, "entries", "tree mini entries"),
])
def test_named_summary_mistakes_fail(hgg, tmp, mutate, metric, fragment):
    """The three summaries issue 12 saw accepted: scalars for vectors, wrong totals,
    counts belonging to other files."""
    ref, env = hgg
    ws = candidate(hgg, tmp)
    mutate_summary(ws, mutate)
    p = llm4hep("validate", SUITE, "--step", "summarize_root", "--out-dir", ws, env=env)
    assert p.returncode == 1, p.stdout + p.stderr
    assert fragment in p.stdout, p.stdout
    failing = [line for line in p.stdout.splitlines() if line.strip().startswith(metric + " = ")]
    assert failing and "<-- fails" in failing[0], p.stdout


def test_counts_in_the_text_alone_do_not_pass(hgg, tmp):
    """The old check accepted a count found anywhere in the text: now the text
    without summary.json fails, naming the missing file."""
    ref, env = hgg
    ws = candidate(hgg, tmp)
    (ws / "summary.json").unlink()
    p = llm4hep("validate", SUITE, "--step", "summarize_root", "--out-dir", ws, env=env)
    assert p.returncode == 1
    assert "summary.json" in p.stdout


# ------------------------------------------------------------ step 4: scores

def test_scores_of_the_test_rows_only_fail(hgg, tmp):
    """Only the test rows scored, the rest 0.0: the AUC on the test rows is the
    reference's, but step 5 consumes every row."""
    ref, env = hgg
    ws = candidate(hgg, tmp)
    for name in ("scores_signal.npy", "scores_bkgd.npy"):
        s = np.load(ws / "arrays" / name)
        s[np.arange(len(s)) % 4 != 0] = 0.0
        np.save(ws / "arrays" / name, s)
    p = llm4hep("validate", SUITE, "--step", "scores", "--out-dir", ws, env=env)
    assert p.returncode == 1, p.stdout
    for metric in ("auc_train_delta", "ks_excess", "tie_share"):
        assert metric in p.stdout
    ok = llm4hep("validate", SUITE, "--step", "scores", "--out-dir", candidate(hgg, tmp, "ok"), env=env)
    assert ok.returncode == 0, ok.stdout


# ------------------------------------------------------------ staged inputs

CONFIG = """\
name: staged
suite: {suite}
output: {root}/unused.h5
scratch: {root}
max_iterations: 1
models: [scripted/case]
endpoints:
  cases: {{provider: scripted, dir: {root}/scripted}}
models_config:
  scripted/case: {{endpoint: cases}}
sandbox: {{python: {python}, isolation: auto, network: false}}
"""
STORY = """\
steps:
  {step}:
    supervisor: ["Plan.\\nVERDICT: CONTINUE", "Done.\\nVERDICT: DONE"]
    coder: [{{code_file: case.py}}]
"""


def scripted_run(tmp, env, step, case, out):
    (tmp / "scripted").mkdir(exist_ok=True)
    shutil.copyfile(os.path.join(CASES, case), tmp / "scripted" / "case.py")
    (tmp / "scripted" / "case.yml").write_text(STORY.format(step=step))
    (tmp / "config.yml").write_text(CONFIG.format(suite=SUITE, root=tmp, python=PY))
    return llm4hep("run", tmp / "config.yml", "--step", step, "--model", "scripted/case", "--out-dir", out,
                   env=env)


def test_validate_judges_only_the_steps_own_outputs(hgg, tmp):
    """`run --step preprocess --out-dir D` copies the staged data_raw.npy and
    signal_raw.npy into D; validating step create_numpy on D must fail, saying
    why, while step preprocess on D passes."""
    ref, env = hgg
    out = tmp / "out"
    p = scripted_run(tmp, env, "preprocess", "preprocess__reference_like.py", out)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (out / "arrays" / "data_raw.npy").exists()
    p = llm4hep("validate", SUITE, "--step", "create_numpy", "--out-dir", out, env=env)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "not of step create_numpy" in p.stdout
    assert "arrays/data_raw.npy, arrays/signal_raw.npy: inputs staged for preprocess" in p.stdout
    p = llm4hep("validate", SUITE, "--step", "preprocess", "--out-dir", out, env=env)
    assert p.returncode == 0, p.stdout + p.stderr


def test_step_outputs_equal_to_the_reference_still_pass(hgg, tmp):
    """A create_numpy answer byte-identical to the reference is its code's
    output (create_numpy stages nothing): it passes."""
    ref, env = hgg
    out = tmp / "out"
    p = scripted_run(tmp, env, "create_numpy", "create_numpy__reference_like.py", out)
    assert p.returncode == 0, p.stdout + p.stderr
    p = llm4hep("validate", SUITE, "--step", "create_numpy", "--out-dir", out, env=env)
    assert p.returncode == 0, p.stdout + p.stderr


def test_a_task_record_that_is_a_link_is_not_followed(hgg, tmp):
    """task.json is read without following links: a link pointing elsewhere is
    as good as no record (the directory is judged as it is)."""
    ref, env = hgg
    ws = candidate(hgg, tmp)
    (tmp / "elsewhere.json").write_text(json.dumps({"step": "preprocess"}))
    os.symlink(tmp / "elsewhere.json", ws / "task.json")
    p = llm4hep("validate", SUITE, "--step", "create_numpy", "--out-dir", ws, env=env)
    assert p.returncode == 0, p.stdout + p.stderr


# ------------------------------------------------------------ suite key, runner, selftest

MINI = """\
name: mini
data_dir: data
reference_dir: ref
validity: {validity}
prompts: {{supervisor_first: p.txt, supervisor: p.txt, coder: p.txt}}
steps:
  - name: only
    prompt: p.txt
    checks:
      - {{type: text, file: out.txt, patterns: ['x']}}
"""


def test_validity_key_must_name_a_directory(tmp):
    (tmp / "p.txt").write_text("Do {{step}}.\n")
    (tmp / "cases").mkdir()
    (tmp / "ref").mkdir()
    (tmp / "suite.yml").write_text(MINI.format(validity="no/such/dir"))
    p = llm4hep("validate", tmp / "suite.yml", "--step", "1", "--out-dir", tmp)
    assert p.returncode == 2
    assert "validity" in p.stderr and "no/such/dir is not one" in p.stderr, p.stderr
    (tmp / "suite.yml").write_text(MINI.format(validity="cases"))
    (tmp / "out.txt").write_text("x\n")
    p = llm4hep("validate", tmp / "suite.yml", "--step", "1", "--out-dir", tmp)
    assert p.returncode == 0, p.stdout + p.stderr


def test_every_case_has_the_header_format():
    names = sorted(f for f in os.listdir(CASES) if f.endswith(".py"))
    steps = {"summarize_root", "create_numpy", "preprocess", "scores", "categorization"}
    sys.path.insert(0, os.path.dirname(RUNNER))
    try:
        import run as runner
    finally:
        sys.path.pop(0)
    cases = [runner.parse_case(os.path.join(CASES, n)) for n in names]
    assert {c["step"] for c in cases} == steps
    fails = [c for c in cases if c["expect"] == "FAIL"]
    assert len(fails) >= 40 and len(cases) - len(fails) >= 12
    for step in steps:   # every step has wrong and right answers
        assert {c["expect"] for c in cases if c["step"] == step} == {"PASS", "FAIL"}


def test_runner_rejects_a_malformed_case(tmp):
    d = tmp / "cases"
    d.mkdir()
    (d / "scores__x.py").write_text("# step: scores\n# expect: MAYBE\nprint(1)\n")
    p = subprocess.run([PY, RUNNER, SUITE, "--cases", str(d), "--no-reference", "--bin", BIN],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "expect:' must be PASS or FAIL" in p.stderr


def test_selftest_help_and_usage():
    p = llm4hep("selftest", "--help")
    assert p.returncode == 0 and "usage: llm4hep selftest SUITE" in p.stdout
    p = llm4hep("selftest")
    assert p.returncode == 2 and "SUITE" in p.stderr
    p = llm4hep("selftest", SUITE, "-j", "zero")
    assert p.returncode == 2 and "-j zero" in p.stderr


def test_selftest_runs_the_reference_checks_and_the_cases(hgg):
    """At the tiny size, the step-1 cases (their verdicts do not depend on the
    size): the reference passes its own checks and the table has 0 false verdicts."""
    ref, env = hgg
    p = llm4hep("selftest", SUITE, "-k", "summarize_root__", "-j", "2", env=env, timeout=900)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "every check passes on the reference itself" in p.stdout
    assert "false_accepts=0 false_rejects=0 of " in p.stdout
    assert p.stdout.count("expect FAIL got FAIL") >= 8
