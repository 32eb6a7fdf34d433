"""The demo campaign end to end at tiny size: the H->gamma gamma suite's
reference, the three scripted demo models on 4 MPI ranks, the report. Each
scripted model's designed outcome must come out of the real pipeline
(agent loop, bubblewrap sandbox, hidden checks, classifier, store)."""
import os
import subprocess

import h5py

from campaign_util import BIN, SRC, mpi_env, sandbox_tmp


def test_demo_campaign_tiny(tmp_path):
    root = sandbox_tmp()
    env = mpi_env({"LLM4HEP_HGG_DATA": os.path.join(root, "data"),
                   "LLM4HEP_HGG_REF": os.path.join(root, "ref"),
                   "LLM4HEP_HGG_SIZE": "tiny"})
    suite = os.path.join(SRC, "reference", "hgg", "suite.yml")
    r = subprocess.run([BIN, "reference", suite, "--check"], env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    demo = open(os.path.join(SRC, "examples", "demo.yml")).read()
    demo = demo.replace("../reference/hgg/", os.path.join(SRC, "reference", "hgg") + "/")
    demo = demo.replace("../results/demo.h5", os.path.join(root, "demo.h5"))
    demo = demo.replace("${TMPDIR:-/tmp}", root)
    cfg = os.path.join(root, "demo.yml")
    open(cfg, "w").write(demo)
    r = subprocess.run(["mpirun", "-n", "4", BIN, "sweep", cfg], env=env, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
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
