"""The demo campaigns end to end at tiny size: for each suite (H->gamma
gamma, H->ZZ*->4l) its reference, its scripted demo models under mpirun, and
one report of both. Each scripted model's designed outcome must come out of
the real pipeline (agent loop, bubblewrap sandbox, hidden checks,
classifier, store)."""
import os
import subprocess

import h5py
import pytest

from campaign_util import BIN, SRC, mpi_env, sandbox_tmp


def demo_campaign(root, suite_name, example, output, ranks):
    """The example config pointed at root (tiny data, reference, results):
    reference --check, then the sweep on `ranks` ranks. Returns (env, output)."""
    up = suite_name.upper()
    env = mpi_env({f"LLM4HEP_{up}_DATA": os.path.join(root, suite_name + "-data"),
                   f"LLM4HEP_{up}_REF": os.path.join(root, suite_name + "-ref"),
                   f"LLM4HEP_{up}_SIZE": "tiny"})
    suite_dir = os.path.join(SRC, "reference", suite_name)
    r = subprocess.run([BIN, "reference", os.path.join(suite_dir, "suite.yml"), "--check"],
                       env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    demo = open(os.path.join(SRC, "examples", example)).read()
    demo = demo.replace(f"../reference/{suite_name}/", suite_dir + "/")
    demo = demo.replace(f"../results/{output}", os.path.join(root, output))
    demo = demo.replace("${TMPDIR:-/tmp}", root)
    cfg = os.path.join(root, example)
    open(cfg, "w").write(demo)
    r = subprocess.run(["mpirun", "-n", str(ranks), BIN, "sweep", cfg], env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    return env, os.path.join(root, output)


@pytest.fixture(scope="module")
def hgg_demo():
    root = sandbox_tmp()
    env, out = demo_campaign(root, "hgg", "demo.yml", "demo.h5", 4)
    return root, env, out


def test_demo_campaign_tiny(hgg_demo):
    root, env, _ = hgg_demo
    with h5py.File(os.path.join(root, "demo.h5"), "r") as f:
        t = f["tasks"][:]
    t = t[t["final"] == 1]
    assert len(t) == 30
    got = {(x["supervisor"].decode(), x["step"].decode(), int(x["trial"])):
           (x["status"].decode(), x["error_category"].decode(), int(x["iterations"])) for x in t}
    for trial in (1, 2):
        for step in ("summarize_root", "create_numpy", "preprocess", "scores", "categorization"):
            assert got[("scripted/careful", step, trial)][0] == "success", (step, trial, got)
        assert got[("scripted/careful", "create_numpy", trial)][2] == 2  # fixed after feedback
        assert got[("scripted/stubborn", "create_numpy", trial)][:2] == ("failed_execution",
                                                                         "wrong_branch")
    assert got[("scripted/variable", "preprocess", 1)][0] == "success"
    assert got[("scripted/variable", "preprocess", 2)][:2] == ("failed_validation", "semantic")
    rep = subprocess.run([BIN, "report", os.path.join(root, "demo.h5")], env=env,
                         capture_output=True, text=True, timeout=60)
    assert rep.returncode == 0, rep.stderr
    assert "scripted/careful" in rep.stdout


def test_two_suite_demo_one_report(hgg_demo):
    root, _, hgg_out = hgg_demo
    env, hzz_out = demo_campaign(root, "hzz", "demo-hzz.yml", "demo-hzz.h5", 3)
    with h5py.File(hzz_out, "r") as f:
        t = f["tasks"][:]
    t = t[t["final"] == 1]
    assert len(t) == 20
    got = {(x["supervisor"].decode(), x["step"].decode(), int(x["trial"])): x["status"].decode()
           for x in t}
    hzz_steps = ("summarize", "leptons", "quadruplets", "background", "mass_window")
    for trial in (1, 2):
        for step in hzz_steps:
            assert got[("scripted/careful", step, trial)] == "success", (step, trial, got)
    # the sloppy model's plausible mistakes run cleanly and are caught by the checks
    assert sum(v == "failed_validation" for k, v in got.items() if k[0] == "scripted/sloppy") >= 3
    rep = subprocess.run([BIN, "report", hgg_out, hzz_out, "--format", "json"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert rep.returncode == 0, rep.stderr
    import json
    j = json.loads(rep.stdout)
    text = json.dumps(j)
    for step in hzz_steps + ("summarize_root", "create_numpy", "categorization"):
        assert f'"{step}"' in text, step
    table = subprocess.run([BIN, "report", hgg_out, hzz_out, "--by", "file,step"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert table.returncode == 0 and "demo-hzz.h5" in table.stdout and "mass_window" in table.stdout
