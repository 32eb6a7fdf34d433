#!/usr/bin/env python3
"""Expected significance of an m4l window — the `evaluate_window` tool.

As a tool (the framework runs it when a model calls evaluate_window):

    window.py --workspace WS  < '{"low": 120, "high": 130}'

reads WS/arrays/quads_mc.npy and WS/background.json and prints one JSON
object: the signal and background yields in the window, the number of ZZ*
simulated events in it and Z. Bad arguments print {"error": ..., "example":
...} and exit 2; missing or malformed workspace files exit 3.

Definitions (stated in prompts/hzz_mass_window.txt):
  * the window holds events with low < m4l < high (column 2 of quads_mc.npy);
  * s = sum of the weights (column 6) of the signal MC (channelNumber 345060,
    344235); b = mu_zz (background.json) x the weights of the ZZ* MC
    (363490) + the weights of the other MC (Z+jets, ttbar);
  * Z = sqrt(2((s + b) ln(1 + s/b) - s));
  * 105 <= low < high <= 160 GeV, high - low >= 2 GeV, and at least 10 ZZ*
    MC events (rows, not weights) inside, else "valid": false, "z": null.

Only the definitions live here (imported by soln.py and checks/window.py);
the reference's search for the best window is in soln.py, out of the
model's reach.
"""
import argparse
import json
import math
import os
import sys

import numpy as np

RANGE_GEV = (105.0, 160.0)
MIN_WIDTH_GEV = 2.0
MIN_ZZ_EVENTS = 10
SIGNAL_DSIDS = (345060, 344235)
ZZ_DSID = 363490
EXAMPLE = {"low": 118.0, "high": 130.0}


class BadArguments(ValueError):
    """The model's arguments do not describe a window."""


def load(workspace):
    """{"m_s", "w_s", "m_b", "w_b", "m_zz", "mu_zz"} from a workspace."""
    mc = np.load(os.path.join(workspace, "arrays", "quads_mc.npy"), allow_pickle=False)
    with open(os.path.join(workspace, "background.json")) as fh:
        mu = json.load(fh)["mu_zz"]
    if isinstance(mu, bool) or not isinstance(mu, (int, float)) or not math.isfinite(mu):
        raise ValueError(f"background.json: mu_zz = {mu!r} is not a finite number")
    if mc.ndim != 2 or mc.shape[1] < 7:
        raise ValueError(f"arrays/quads_mc.npy: shape {mc.shape}, expected (N, 11)")
    mc = mc.astype(np.float64)
    dsid, m, w = mc[:, 0], mc[:, 2], mc[:, 6]
    sig, zz = np.isin(dsid, SIGNAL_DSIDS), dsid == ZZ_DSID
    bkg = ~sig
    return {"m_s": m[sig], "w_s": w[sig], "m_b": m[bkg], "w_b": np.where(zz, mu, 1.0)[bkg] * w[bkg],
            "m_zz": m[zz], "mu_zz": float(mu)}


def z2(s, b):
    """Squared Asimov significance 2((s+b) ln(1+s/b) - s), elementwise; b > 0."""
    s, b = np.asarray(s, float), np.asarray(b, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 2 * ((s + b) * np.log1p(s / b) - s)
    return np.where(s > 0, out, 0.0)


def number(obj, key):
    x = obj.get(key)
    try:
        ok = not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(float(x))
    except OverflowError:
        ok = False
    if not ok:
        raise BadArguments(f'"{key}" must be a finite number of GeV, got {str(x)[:40]!r}')
    return float(x)


def parse_window(obj):
    """Validate tool arguments (already JSON-decoded); return (low, high)."""
    if not isinstance(obj, dict) or "low" not in obj or "high" not in obj:
        raise BadArguments('arguments must be a JSON object with the keys "low" and "high"')
    extra = sorted(set(obj) - {"low", "high"})
    if extra:
        raise BadArguments(f'unknown argument(s) {extra}; only "low" and "high" are accepted')
    lo, hi = number(obj, "low"), number(obj, "high")
    if not (RANGE_GEV[0] <= lo < hi <= RANGE_GEV[1]):
        raise BadArguments(f"need {RANGE_GEV[0]:g} <= low < high <= {RANGE_GEV[1]:g} GeV, "
                           f"got low = {lo:g}, high = {hi:g}")
    return lo, hi


def evaluate(lo, hi, data):
    """Yields and Z of the window (lo, hi) for a parsed window."""
    ins = lambda m: (m > lo) & (m < hi)
    s = float(data["w_s"][ins(data["m_s"])].sum())
    b = float(data["w_b"][ins(data["m_b"])].sum())
    n_zz = int(ins(data["m_zz"]).sum())
    problems = []
    if hi - lo < MIN_WIDTH_GEV - 1e-9:
        problems.append(f"the window is {hi - lo:g} GeV wide; at least {MIN_WIDTH_GEV:g} GeV is required")
    if n_zz < MIN_ZZ_EVENTS:
        problems.append(f"the window holds {n_zz} ZZ* MC events; at least {MIN_ZZ_EVENTS} are required")
    if not b > 0:
        problems.append(f"the background in the window is {b:g}; it must be positive")
    valid = not problems
    out = {"low": lo, "high": hi, "signal": s, "background": b, "zz_mc_events": n_zz,
           "mu_zz": data["mu_zz"], "z": math.sqrt(float(z2(s, b))) if valid else None,
           "valid": valid}
    if problems:
        out["problems"] = problems
    return out


def error(message, code):
    print(json.dumps({"error": message, "example": EXAMPLE}))
    return code


def main(argv=None):
    ap = argparse.ArgumentParser(description="evaluate_window tool: JSON on stdin, JSON on stdout")
    ap.add_argument("--workspace", default=os.environ.get("LLM4HEP_WORKSPACE", "/workspace"))
    a = ap.parse_args(argv)
    text = sys.stdin.read(1 << 16)
    if not text.strip():
        return error('no arguments: expected a JSON object such as {"low": 118, "high": 130}', 2)
    try:
        obj = json.loads(text)
    except RecursionError:
        return error("arguments are nested too deeply", 2)
    except json.JSONDecodeError as e:
        return error(f"arguments are not valid JSON ({e.msg} at line {e.lineno} column {e.colno}): "
                     f"{text[:200]!r}", 2)
    try:
        lo, hi = parse_window(obj)
    except BadArguments as e:
        return error(str(e), 2)
    try:
        data = load(a.workspace)
    except (OSError, ValueError, KeyError, IndexError) as e:
        print(json.dumps({"error": f"cannot read the workspace inputs: {e}"}))
        return 3
    print(json.dumps(evaluate(lo, hi, data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
