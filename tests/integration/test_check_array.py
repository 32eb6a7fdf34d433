"""The array check (tests/tools/check_array, l4h_check_array) on arrays numpy
writes the way analysis code does: Fortran order from `np.array(cols).T`,
float32 against float64, big-endian, version 2/3 headers; its mismatch count
against the DESIGN.md rule evaluated by numpy; and the report for common
mistakes (swapped columns, a shifted row, a lost column).

Run: /usr/bin/python3 -m pytest -q tests/integration/test_check_array.py
"""
import json
import os
import subprocess

import numpy as np
import pytest

from conftest import TOOLS

TOOL = os.path.join(TOOLS, "check_array")


def check(cand, ref, sig=4, zero_floor=1e-9):
    p = subprocess.run([TOOL, str(cand), str(ref), str(sig), repr(zero_floor)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode in (0, 1), p.stderr
    rec = json.loads(p.stdout)
    assert rec["passed"] == (p.returncode == 0)
    assert rec["report"].startswith("PASS " if rec["passed"] else "FAIL ")
    return rec


def rule_bad(c, r, sig, zf):
    """DESIGN.md's tolerance, written out with numpy: the number of mismatches."""
    c = c.astype(np.float64)
    r = r.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ar = np.abs(r)
        tol = 0.5 * 10.0 ** (np.floor(np.log10(ar)) - sig + 1)
        tol = np.where(ar < zf, zf, tol)
        ok = np.abs(c - r) <= tol
    ok |= c == r
    ok |= np.isnan(c) & np.isnan(r)
    ok &= ~(np.isnan(c) ^ np.isnan(r))
    return int((~ok).sum())


@pytest.fixture
def ref(tmp_path):
    rng = np.random.default_rng(11)
    r = rng.normal(50.0, 20.0, (5000, 12)) * np.logspace(-4, 4, 12)
    r[::7, 3] = 0.0
    r[:, 11] = np.nan
    path = tmp_path / "ref.npy"
    np.save(path, r)
    return r, path


def test_layouts_that_numpy_writes_pass(ref, tmp_path):
    r, rp = ref
    cols = [r[:, j] for j in range(r.shape[1])]
    a = np.array(cols).T  # Fortran-ordered: what a column-by-column analysis saves
    assert a.flags.f_contiguous and not a.flags.c_contiguous
    np.save(tmp_path / "f.npy", a)
    with open(tmp_path / "f.npy", "rb") as fh:
        assert b"'fortran_order': True" in fh.read(128)
    assert check(tmp_path / "f.npy", rp)["passed"]
    for version in ((2, 0), (3, 0)):
        with open(tmp_path / "v.npy", "wb") as fh:
            np.lib.format.write_array(fh, r.astype(">f8"), version=version)
        assert check(tmp_path / "v.npy", rp)["passed"]
    # float32 keeps ~7 digits: passes at 4
    np.save(tmp_path / "f4.npy", r.astype(np.float32))
    rec = check(tmp_path / "f4.npy", rp)
    assert rec["passed"], rec["report"]
    assert 0 < rec["max_rel_diff"] < 1e-6
    # float16 keeps ~3 digits: fails at 4, passes at 2 (within its range)
    small = np.clip(r[:, :2], -60000, 60000)
    np.save(tmp_path / "r2.npy", small)
    np.save(tmp_path / "f2.npy", small.astype(np.float16))
    assert not check(tmp_path / "f2.npy", tmp_path / "r2.npy", sig=4)["passed"]
    assert check(tmp_path / "f2.npy", tmp_path / "r2.npy", sig=2, zero_floor=1e-4)["passed"]


@pytest.mark.parametrize("sig,zf", [(4, 1e-9), (3, 1e-6), (6, 0.0)])
def test_mismatch_count_matches_the_rule(ref, tmp_path, sig, zf):
    r, rp = ref
    rng = np.random.default_rng(sig)
    c = r * (1 + rng.normal(0, 10.0 ** -sig, r.shape))  # around the tolerance
    c[::13, 3] += rng.normal(0, 1e-6, c[::13, 3].shape)
    c[5, 2] = np.nan
    c[9, 11] = 1.0
    np.save(tmp_path / "c.npy", c)
    want = rule_bad(c, r, sig, zf)
    assert 100 < want < c.size - 100
    rec = check(tmp_path / "c.npy", rp, sig, zf)
    assert rec["n_bad"] == want
    # Fortran candidate, same answer
    np.save(tmp_path / "cf.npy", np.asfortranarray(c))
    assert check(tmp_path / "cf.npy", rp, sig, zf)["n_bad"] == want


def test_common_mistakes_are_reported(ref, tmp_path):
    r, rp = ref
    c = r.copy()
    c[:, [4, 5]] = c[:, [5, 4]]  # swapped columns
    np.save(tmp_path / "swap.npy", c)
    rec = check(tmp_path / "swap.npy", rp)
    assert "in 2 of 12 columns" in rec["report"]
    assert "column 4: 5000 of 5000 rows differ" in rec["report"]
    assert "column 5: 5000 of 5000 rows differ" in rec["report"]

    np.save(tmp_path / "shift.npy", np.roll(r, 1, axis=0))  # off by one row
    rec = check(tmp_path / "shift.npy", rp)
    assert not rec["passed"]
    assert "first at row 0" in rec["report"]

    c = r.copy()
    c[:, 3] = 0.0  # a lost column, e.g. weights
    np.save(tmp_path / "zero.npy", c)
    rec = check(tmp_path / "zero.npy", rp)
    assert "data quality: the candidate is 0 where the reference is not in column 3" in rec["report"]

    np.save(tmp_path / "short.npy", r[:-10])
    rec = check(tmp_path / "short.npy", rp)
    assert rec["n_bad"] == -1 and rec["max_rel_diff"] is None
    assert "4990 rows instead of 5000" in rec["report"]

    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    rec = check(tmp_path / "obj.npy", rp)
    assert "object dtype" in rec["report"]
