"""test_workflow.py — the physicist's workflow of issue 16 through the real
binary: no flag of any verb is silently dropped (one shared option parser),
`run` of several steps (staged and --chain), the original's output folders
(--out-dir, --job-id, --auto-dir; generated_code/, logs/<step>_validation.log,
arrays/, plots/, prompt_pairs/), `validate` of several steps. Scripted demo
models on tiny synthetic data, real sandbox, real checks."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pytest
import yaml

BIN = os.environ.get("LLM4HEP_BIN", "build/llm4hep")
SRC = os.environ.get("LLM4HEP_SOURCE_DIR", os.getcwd())
SUITE = os.path.join(SRC, "reference", "hgg", "suite.yml")
SCRIPTED = os.path.join(SRC, "reference", "hgg", "scripted")
CAREFUL = "scripted/careful"


def llm4hep(args, env=None, cwd=None, timeout=900):
    return subprocess.run([BIN] + [str(a) for a in args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


# ------------------------------------------------------------ flags, every verb

# (verb args, the flag the message must name). Each repeats a flag that takes
# one value (or none): an error naming it, exit 2, before any file is read.
REPEATS = [
    (["run", "c.yml", "--step", "1", "--model", "a", "--model", "b"], "--model"),
    (["run", "c.yml", "--step", "1", "--model", "a", "--trial", "1", "--trial", "2"], "--trial"),
    (["run", "c.yml", "--step", "1", "--model", "a", "--validate", "--validate"], "--validate"),
    (["run", "c.yml", "--step", "1", "--model", "a", "--out-dir", "x", "--out-dir", "y"], "--out-dir"),
    (["run", "c.yml", "--step", "1", "--model", "a", "--chain", "--chain"], "--chain"),
    (["run", "c.yml", "--step", "1", "--model", "a", "--job-id", "1", "--job-id", "2"], "--job-id"),
    (["validate", "s.yml", "--step", "1", "--out-dir", "x", "--out-dir", "y"], "--out-dir"),
    (["validate", "s.yml", "--all-steps", "--all-steps", "--out-dir", "x"], "--all-steps"),
    (["sweep", "c.yml", "--grace", "1", "--grace", "2"], "--grace"),
    (["sweep", "c.yml", "--fresh", "--fresh"], "--fresh"),
    (["sweep", "c.yml", "--dry-run", "--dry-run"], "--dry-run"),
    (["report", "r.h5", "--format", "json", "--format", "table"], "--format"),
    (["report", "r.h5", "--csv", "a.csv", "--csv", "b.csv"], "--csv"),
    (["report", "r.h5", "--by", "model", "--by", "step"], "--by"),
    (["report", "r.h5", "--compare", "a,b", "--compare", "c,d"], "--compare"),
    (["report", "r.h5", "--models", "--models"], "--models"),
    (["errors", "r.h5", "--format", "json", "--format", "table"], "--format"),
    (["errors", "r.h5", "--llm", "a", "--llm", "b", "--config", "c"], "--llm"),
    (["errors", "r.h5", "--llm", "a", "--config", "c", "--prompt", "p", "--prompt", "q"], "--prompt"),
    (["explain", "r.h5", "1", "--llm", "a", "--llm", "b", "--config", "c"], "--llm"),
    (["explain", "r.h5", "--failed", "--failed", "--llm", "a", "--config", "c"], "--failed"),
    (["explain", "r.h5", "1", "--llm", "a", "--config", "c", "--config", "d"], "--config"),
    (["selftest", "s.yml", "-k", "a", "-k", "b"], "-k"),
    (["selftest", "s.yml", "-j", "1", "-j", "2"], "-j"),
    (["reference", "s.yml", "--check", "--check"], "--check"),
    (["plots", "r.h5", "--out", "a", "--out", "b"], "--out"),
    (["plots", "r.h5", "--out", "a", "--html", "x.html", "--html", "y.html"], "--html"),
    (["plots", "r.h5", "--out", "a", "--include-infra", "--include-infra"], "--include-infra"),
]


@pytest.mark.parametrize("args,flag", REPEATS, ids=["%s %s" % (a[0], f) for a, f in REPEATS])
def test_a_repeated_single_flag_is_an_error_naming_it(args, flag, tmp_path):
    r = llm4hep(args, cwd=tmp_path, timeout=120)
    assert r.returncode == 2, (args, r.stdout, r.stderr)
    assert "%s given twice" % flag in r.stderr or "%s given twice" % flag in r.stdout, r.stderr
    assert not list(tmp_path.iterdir()), "nothing may be written"


# Other rules of the shared parser, on every verb that takes options.
@pytest.mark.parametrize("verb,pos", [("run", "c.yml"), ("validate", "s.yml"), ("sweep", "c.yml"),
                                      ("report", "r.h5"), ("errors", "r.h5"), ("explain", "r.h5"),
                                      ("selftest", "s.yml"), ("reference", "s.yml"),
                                      ("show", "r.h5")])
def test_unknown_options_and_extra_arguments_are_named(verb, pos, tmp_path):
    r = llm4hep([verb, pos, "--frobnicate"], cwd=tmp_path, timeout=120)
    assert r.returncode == 2 and "unknown option '--frobnicate'" in r.stderr, r.stderr
    # a flag taking a value given the next flag instead: missing value, not swallowed
    if verb in ("run", "validate"):
        r = llm4hep([verb, pos, "--step", "--out-dir", "x"], cwd=tmp_path, timeout=120)
        assert r.returncode == 2 and "--step needs a value" in r.stderr, r.stderr
    r = llm4hep([verb, pos, "two", "three", "--x=1"] if verb not in ("report", "errors")
                else [verb, "--csv=1", "--csv=2", pos], cwd=tmp_path, timeout=120)
    assert r.returncode == 2, r.stderr
    assert re.search(r"a second|unexpected argument|unknown option|given twice", r.stderr), r.stderr


def test_show_takes_no_options(tmp_path):
    r = llm4hep(["show", "r.h5", "1", "2"], cwd=tmp_path, timeout=60)
    assert r.returncode == 2 and "unexpected argument '2'" in r.stderr, r.stderr


# ------------------------------------------------------------ a world with models

def write_config(tmp, name, scripted_dir):
    path = tmp / ("%s.yml" % name)
    path.write_text(
        "name: workflow-%s\nsuite: %s\noutput: %s\nscratch: %s\nmax_iterations: 4\n"
        "models: [%s, scripted/tamper, scripted/linker]\n"
        "endpoints: {demo: {provider: scripted, dir: %s}}\n"
        "model_defaults: {endpoint: demo, temperature: 0}\n"
        "limits: {exec_timeout_s: 300, task_wall_s: 900}\n"
        % (name, SUITE, tmp / ("%s.h5" % name), tmp / "scratch", CAREFUL, scripted_dir))
    return str(path)


TAMPER = """
# the careful answer, then a wrong but well-formed data_raw: every pT doubled
_a = np.load(os.path.join(WORKSPACE, "arrays", "data_raw.npy"))
_a[:, 0] *= 2
np.save(os.path.join(WORKSPACE, "arrays", "data_raw.npy"), _a)
print("tampered")
"""

LINKER = """
# the careful answer, then data_raw.npy replaced by a link to a file the code
# could not hand on by itself (the host must not follow it)
_p = os.path.join(WORKSPACE, "arrays", "data_raw.npy")
os.remove(_p)
os.symlink("/etc/passwd", _p)
"""


def scripted_models(tmp):
    """The demo models plus two of our own: tamper (create_numpy writes a wrong
    data_raw) and linker (create_numpy leaves data_raw.npy as a link)."""
    d = tmp / "scripted"
    shutil.copytree(SCRIPTED, d)
    careful = yaml.safe_load((d / "careful.yml").read_text())
    base = (d / "answers" / "create_numpy.py").read_text()
    for name, tail in (("tamper", TAMPER), ("linker", LINKER)):
        (d / "answers" / ("create_numpy_%s.py" % name)).write_text(base + tail)
        m = json.loads(json.dumps(careful))
        m["description"] = "careful, but create_numpy ends with: " + tail.strip().splitlines()[0]
        cn = m["steps"]["create_numpy"]
        cn["coder"] = [{"code_file": "answers/create_numpy_%s.py" % name}]
        cn["supervisor"] = [cn["supervisor"][0], cn["supervisor"][2]]
        (d / ("%s.yml" % name)).write_text(yaml.safe_dump(m))
    return d


@pytest.fixture(scope="module")
def world():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="llm4hep-workflow-"))
    tmp.chmod(0o755)
    try:
        (tmp / "scratch").mkdir()
        env = dict(os.environ)
        env.update(LLM4HEP_HGG_DATA=str(tmp / "data"), LLM4HEP_HGG_REF=str(tmp / "ref"),
                   LLM4HEP_HGG_SIZE="tiny", NO_COLOR="1")
        r = llm4hep(["reference", SUITE], env)
        assert r.returncode == 0, r.stdout + r.stderr
        cfg = write_config(tmp, "w", scripted_models(tmp))
        yield {"tmp": tmp, "env": env, "cfg": cfg, "ref": tmp / "ref"}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fresh(world, name):
    out = world["tmp"] / name
    shutil.rmtree(out, ignore_errors=True)
    return out


def test_run_several_steps_in_suite_order_on_staged_inputs(world):
    out = fresh(world, "staged")
    # given out of order, by number and by name: run in the suite's order
    r = llm4hep(["run", world["cfg"], "--step", "preprocess", "--step", "2", "--model", CAREFUL,
                 "--validate", "--out-dir", out], world["env"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.index("step 2 create_numpy") < r.stdout.index("step 3 preprocess")
    assert "2 steps, mode staged" in r.stdout
    assert "mode: staged (inputs: arrays/data_raw.npy from the reference" in r.stdout
    run = json.loads((out / "run.json").read_text())
    assert run["mode"] == "staged"
    assert [(s["step"], s["status"], s["dir"]) for s in run["steps"]] == [
        ("create_numpy", "success", "create_numpy"), ("preprocess", "success", "preprocess")]
    for step in ("create_numpy", "preprocess"):
        d = out / step
        rec = json.loads((d / "task.json").read_text())
        assert rec["step"] == step and rec["mode"] == "staged" and rec["status"] == "success"
        for sub in ("generated_code", "logs", "arrays", "plots", "prompt_pairs"):
            assert (d / sub).is_dir(), (step, sub)
        log = (d / "logs" / ("%s_validation.log" % step)).read_text()
        assert "PASS" in log and "pass array:arrays/" in log
        # one prompt file and one answer file per call, in order, with the text sent/received
        pairs = sorted(p.name for p in (d / "prompt_pairs").iterdir())
        assert len(pairs) == 2 * len(rec["calls"])
        first = (d / "prompt_pairs" / pairs[1]).read_text()
        assert first.startswith("### system") and "### user" in first
        answer = (d / "prompt_pairs" / pairs[0]).read_text()
        assert answer.strip() == json.loads(rec["calls"][0]["response"])["choices"][0][
            "message"]["content"].strip()
        # comparison plots of every array check, written by run --validate
        figs = sorted(p.name for p in (d / "plots" / "validation").iterdir())
        for check in rec["checks"]:
            base = step + "__" + check["check"].split("/")[-1][:-4]
            assert base + ".csv" in figs and base + "__col00.png" in figs, (base, figs)
    assert "comparison plots (candidate vs reference, per column)" in r.stdout
    rec = json.loads((out / "preprocess" / "task.json").read_text())
    assert rec["inputs"] == {"arrays/data_raw.npy": "reference", "arrays/signal_raw.npy": "reference"}
    # the staged input is the reference's
    assert (out / "preprocess" / "arrays" / "data_raw.npy").read_bytes() == (
        world["ref"] / "arrays" / "data_raw.npy").read_bytes()

    # validate finds both steps by itself, and checks both when both are named
    for extra in ([], ["--all-steps"], ["--step", "3", "--step", "create_numpy"]):
        for f in out.glob("*/logs/*_validation.log"):
            f.unlink()
        v = llm4hep(["validate", SUITE, "--out-dir", out] + extra, world["env"])
        assert v.returncode == 0, v.stdout + v.stderr
        assert "2 of 2 steps passed — PASS" in v.stdout, v.stdout
        assert v.stdout.index("step 2 create_numpy") < v.stdout.index("step 3 preprocess")
        assert (out / "preprocess" / "logs" / "preprocess_validation.log").is_file()
        assert (out / "create_numpy" / "logs" / "create_numpy_validation.log").is_file()
    # the same output folder again: refused before any work
    r = llm4hep(["run", world["cfg"], "--step", "2", "--model", CAREFUL, "--out-dir", out],
                world["env"])
    assert r.returncode == 2 and "empty" in r.stderr, r.stderr


def test_chain_feeds_each_step_the_models_own_outputs(world):
    out = fresh(world, "chain")
    r = llm4hep(["run", world["cfg"], "--step", "2", "--step", "3", "--chain", "--model",
                 "scripted/tamper", "--validate", "--out-dir", out], world["env"])
    # create_numpy's tampered arrays fail their checks; preprocess runs on them
    assert r.returncode == 1, r.stdout + r.stderr
    assert "mode: chain (inputs: arrays/data_raw.npy from step create_numpy" in r.stdout
    rec = json.loads((out / "preprocess" / "task.json").read_text())
    assert rec["mode"] == "chain"
    assert rec["inputs"] == {"arrays/data_raw.npy": "step create_numpy",
                             "arrays/signal_raw.npy": "step create_numpy"}
    staged = np.load(out / "preprocess" / "arrays" / "data_raw.npy")
    made = np.load(out / "create_numpy" / "arrays" / "data_raw.npy")
    ref = np.load(world["ref"] / "arrays" / "data_raw.npy")
    assert np.array_equal(staged, made, equal_nan=True)
    assert not np.array_equal(staged, ref, equal_nan=True)
    assert np.allclose(staged[:, 0], 2 * ref[:, 0])
    run = json.loads((out / "run.json").read_text())
    assert run["mode"] == "chain" and run["steps"][1]["inputs"]["arrays/data_raw.npy"] == \
        "step create_numpy"
    # the failed column is seen: pT (column 0) differs, eta (column 1) does not
    import csv
    with open(out / "create_numpy" / "plots" / "validation" / "create_numpy__data_raw.csv") as f:
        rows = list(csv.DictReader(f))
    diff = {c: sum(abs(int(r["difference"])) for r in rows if r["column"] == str(c)) for c in (0, 1)}
    assert diff[0] > 0 and diff[1] == 0, diff
    # the same model staged: preprocess gets the reference and passes
    out2 = fresh(world, "chain-staged")
    r = llm4hep(["run", world["cfg"], "--step", "2", "--step", "3", "--model", "scripted/tamper",
                 "--validate", "--out-dir", out2], world["env"])
    assert r.returncode == 1
    assert json.loads((out2 / "preprocess" / "task.json").read_text())["status"] == "success"


def test_chain_does_not_follow_a_link_the_code_planted(world):
    out = fresh(world, "linker")
    r = llm4hep(["run", world["cfg"], "--step", "create_numpy", "--step", "preprocess", "--step",
                 "scores", "--chain", "--model", "scripted/linker", "--out-dir", out], world["env"])
    assert r.returncode == 1, r.stdout + r.stderr
    assert "the chain stops before step 3 preprocess" in r.stdout
    assert "arrays/data_raw.npy, an output of step create_numpy" in r.stdout
    run = json.loads((out / "run.json").read_text())
    assert [s["status"] for s in run["steps"]] == ["success", "not_run", "not_run"]
    assert run["steps"][2]["why"] == "the chain stopped before it"
    assert not (out / "preprocess").exists() and not (out / "scores").exists()
    passwd = pathlib.Path("/etc/passwd").read_bytes()
    for p in out.rglob("*"):
        assert p.is_symlink() or not p.is_file() or p.read_bytes() != passwd, p


def test_all_steps_chain_end_to_end(world):
    out = fresh(world, "all")
    r = llm4hep(["run", world["cfg"], "--all-steps", "--chain", "--model", CAREFUL, "--validate",
                 "--out-dir", out], world["env"], timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    run = json.loads((out / "run.json").read_text())
    assert [s["status"] for s in run["steps"]] == ["success"] * 5
    cat = run["steps"][4]["inputs"]
    assert cat == {"arrays/signal.npy": "step preprocess", "arrays/bkgd.npy": "step preprocess",
                   "arrays/scores_signal.npy": "step scores", "arrays/scores_bkgd.npy": "step scores"}
    assert "5 steps, mode chain" in r.stdout


def test_job_id_and_auto_dir_name_the_folder_as_the_original(world):
    cwd = fresh(world, "cwd")
    cwd.mkdir()
    r = llm4hep(["run", world["cfg"], "--step", "1", "--model", CAREFUL, "--job-id", "4711"],
                world["env"], cwd=cwd)
    assert r.returncode == 0, r.stdout + r.stderr
    d = cwd / "results_job_4711"
    assert json.loads((d / "task.json").read_text())["step"] == "summarize_root"
    assert (d / "generated_code").is_dir() and (d / "prompt_pairs").is_dir()
    r = llm4hep(["run", world["cfg"], "--step", "1", "--model", CAREFUL, "--auto-dir"],
                world["env"], cwd=cwd)
    assert r.returncode == 0, r.stdout + r.stderr
    auto = [p.name for p in cwd.iterdir() if p.name != "results_job_4711"]
    assert len(auto) == 1 and re.fullmatch(r"results_\d{8}_\d{6}", auto[0]), auto
    for bad in ("../x", "a/b", "", "x" * 65):
        r = llm4hep(["run", world["cfg"], "--step", "1", "--model", CAREFUL, "--job-id", bad],
                    world["env"], cwd=cwd)
        assert r.returncode == 2 and "--job-id" in r.stderr, (bad, r.stderr)
    r = llm4hep(["run", world["cfg"], "--step", "1", "--model", CAREFUL, "--job-id", "1",
                 "--auto-dir"], world["env"], cwd=cwd)
    assert r.returncode == 2 and "give one" in r.stderr
    r = llm4hep(["run", world["cfg"], "--step", "1", "--step", "summarize_root", "--model", CAREFUL],
                world["env"], cwd=cwd)
    assert r.returncode == 2 and "given twice" in r.stderr
    assert sorted(p.name for p in cwd.iterdir()) == sorted(["results_job_4711"] + auto)
