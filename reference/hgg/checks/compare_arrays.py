#!/usr/bin/env python3
"""Python twin of the framework's `array` check (DESIGN.md's tolerance), for
tests and for checking by hand.

    compare_arrays.py WORKSPACE REFERENCE_DIR FILE... [--sig-digits 4] [--zero-floor 1e-6]

A candidate value c matches the reference r when
|c - r| <= 0.5 * 10**(floor(log10|r|) - sig_digits + 1); when |r| < zero_floor
the test is |c - r| <= zero_floor; NaN matches NaN only. Shapes must be equal
and dtypes of the same class (float, int, bool). Prints one JSON object
{"passed": 0|1, "files": {FILE: {"passed", "n_bad", "report"}}}; exit 0
when all pass, 1 otherwise.
"""
import argparse
import json
import os
import sys

import numpy as np


def dtype_class(dt):
    return {"f": "float", "i": "int", "u": "int", "b": "bool"}.get(dt.kind, dt.kind)


def matches(c, r, sig_digits=4, zero_floor=1e-9):
    """Elementwise match of candidate c with reference r (same shape)."""
    c, r = np.asarray(c, np.float64), np.asarray(r, np.float64)
    ar = np.abs(r)
    with np.errstate(divide="ignore", invalid="ignore"):
        tol = 0.5 * 10.0 ** (np.floor(np.log10(np.where(ar > 0, ar, 1.0))) - sig_digits + 1)
        ok = np.where(ar < zero_floor, np.abs(c - r) <= zero_floor, np.abs(c - r) <= tol)
    both_nan = np.isnan(c) & np.isnan(r)
    return np.where(np.isnan(r) | np.isnan(c), both_nan, ok)


def compare(cand_path, ref_path, sig_digits=4, zero_floor=1e-9):
    """{"passed": bool, "n_bad": int, "report": str}."""
    try:
        c = np.load(cand_path, allow_pickle=False)
    except (OSError, ValueError) as e:
        return {"passed": False, "n_bad": -1, "report": f"cannot read candidate: {e}"}
    r = np.load(ref_path, allow_pickle=False)
    if c.shape != r.shape:
        return {"passed": False, "n_bad": -1, "report": f"shape {c.shape}, reference {r.shape}"}
    if dtype_class(c.dtype) != dtype_class(r.dtype):
        return {"passed": False, "n_bad": -1,
                "report": f"dtype {c.dtype} ({dtype_class(c.dtype)}), reference {r.dtype}"}
    ok = matches(c, r, sig_digits, zero_floor)
    n_bad = int(ok.size - np.count_nonzero(ok))
    report = "all values match"
    if n_bad:
        idx = np.argwhere(~ok)[0]
        report = (f"{n_bad} values differ; first at index {tuple(int(i) for i in idx)}: "
                  f"candidate {c[tuple(idx)]!r}, reference {r[tuple(idx)]!r}")
        if ok.ndim == 2:
            cols = np.flatnonzero((~ok).any(0))
            report += f"; columns with differences: {cols.tolist()[:20]}"
    return {"passed": n_bad == 0, "n_bad": n_bad, "report": report}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workspace")
    ap.add_argument("reference_dir")
    ap.add_argument("files", nargs="+")
    ap.add_argument("--sig-digits", type=int, default=4)
    ap.add_argument("--zero-floor", type=float, default=1e-9)
    a = ap.parse_args(argv)
    res = {f: compare(os.path.join(a.workspace, f), os.path.join(a.reference_dir, f),
                      a.sig_digits, a.zero_floor) for f in a.files}
    passed = all(v["passed"] for v in res.values())
    print(json.dumps({"passed": int(passed), "files": res}))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
