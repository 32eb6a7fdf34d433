"""The H->gamma gamma validity suite (tests/validity/hgg) at the default
sample size, where the thresholds are calibrated (reference/hgg/README.md
"Calibration"): every wrong answer fails, every right one passes. Also the
default sample's physics: the yields and Z the README states.

Run: /usr/bin/python3 -m pytest -q tests/integration/test_validity_suite.py
"""
import importlib.util
import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from conftest import BIN, HGG_SUITE as SUITE, PY, SRC
RUNNER = os.path.join(SRC, "tests", "validity", "run.py")

# reference/hgg/README.md "Default sample": yields in 10.064 fb^-1 and Z
SIGNAL_IN_WINDOW = 341.27        # weighted signal, 123 < m < 127 GeV, after the selection
BACKGROUND = 8981.69             # sideband data x 4/45, i.e. the 123-127 GeV window
BKGD_EVENTS = 101044
Z_ONE_CATEGORY = 3.5785
Z_OPTIMUM = 6.428                # reference categorisation (classifier dependent)


@pytest.fixture(scope="module")
def default_ref():
    base = Path(tempfile.mkdtemp(prefix="l4h_validity_suite_"))
    os.chmod(base, 0o755)
    env = {"LLM4HEP_HGG_DATA": str(base / "data"), "LLM4HEP_HGG_REF": str(base / "ref"),
           "LLM4HEP_HGG_SIZE": "default", "TMPDIR": str(base)}
    p = subprocess.run([BIN, "reference", SUITE], capture_output=True, text=True,
                       env=dict(os.environ, **env), timeout=1200)
    assert p.returncode == 0, p.stdout + p.stderr
    yield base / "ref", env
    shutil.rmtree(base, ignore_errors=True)


def load_module(name, rel):
    spec = importlib.util.spec_from_file_location(name, os.path.join(SRC, "reference", "hgg", rel))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def significance_tool():
    return load_module("hgg_significance", os.path.join("tools", "significance.py"))


def test_default_sample_yields_and_significance(default_ref):
    """A few sigma for 10 fb^-1: background at the real rate in the window."""
    ref, _ = default_ref
    sig = np.load(ref / "arrays" / "signal.npy")
    bkg = np.load(ref / "arrays" / "bkgd.npy")
    m = sig[:, 44]
    s = sig[(m > 123) & (m < 127), 32].sum()
    assert math.isclose(s, SIGNAL_IN_WINDOW, rel_tol=1e-4), s
    assert len(bkg) == BKGD_EVENTS
    assert math.isclose(bkg[:, 32].sum(), BACKGROUND, rel_tol=1e-4)
    tool = significance_tool()
    data = tool.load(str(ref))
    z1 = tool.evaluate([], data)["z"]
    assert math.isclose(z1, Z_ONE_CATEGORY, rel_tol=1e-3), z1
    assert 2.5 < z1 < 5, "a few sigma, as ATLAS's 10 fb^-1 open data"
    _, z = load_module("hgg_soln", "soln.py").optimize(tool, data)  # the reference's optimiser
    assert math.isclose(z, Z_OPTIMUM, rel_tol=0.03), z
    assert z < 2 * z1 and z > 1.3 * z1, "categories help, the optimum is not flat"


def test_every_validity_case_gets_its_verdict(default_ref):
    _, env = default_ref
    p = subprocess.run([PY, RUNNER, SUITE, "--bin", BIN, "--no-reference", "-j", "2"],
                       capture_output=True, text=True, env=dict(os.environ, **env), timeout=3000)
    print(p.stdout)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "false_accepts=0 false_rejects=0 of " in p.stdout
