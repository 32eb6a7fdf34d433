#!/usr/bin/env python3
"""Expected significance of score categories — the `evaluate_boundaries` tool.

As a tool (the framework runs it when a model calls evaluate_boundaries):

    significance.py --workspace WS [--min-bkg-events N]  < '{"boundaries": [0.4, 0.8]}'

reads WS/arrays/{signal,bkgd,scores_signal,scores_bkgd}.npy and prints one
JSON object on stdout: the yields and Z of every category and the combined Z.
Bad arguments print {"error": "...", "example": {...}} and exit with 2; a
missing or malformed workspace file exits with 3.

Definitions (stated in prompts/categorization.txt):
  * categories: boundaries b_1 < ... < b_k (0 <= k <= 4) strictly inside (0, 1)
    cut the score range into k+1 categories; an event with score x belongs
    to category #{i : b_i <= x} (a score equal to a boundary goes up);
  * s_i = sum of signal weights (column 32) with 123 < m_gg < 127 GeV
    (column 44) in category i; b_i = sum of bkgd weights (column 32) in
    category i (the sideband weights already scale to that window);
  * Z_i = sqrt(2((s_i + b_i) ln(1 + s_i/b_i) - s_i)), Z = sqrt(sum Z_i^2);
  * a category with fewer than 10 bkgd events (unweighted) is not allowed:
    the result is then "valid": false and "z": null.

Also imported by soln.py and checks/significance.py (load, evaluate). It holds
only what the model is meant to have: the reference's optimiser lives in
soln.py, which the model never sees.
"""
import argparse
import json
import math
import os
import sys

import numpy as np

WINDOW_GEV = (123.0, 127.0)
MAX_BOUNDARIES = 4
MIN_BKG_EVENTS = 10
COL_WEIGHT, COL_MGG = 32, 44
EXAMPLE = {"boundaries": [0.3, 0.6, 0.9]}


class BadArguments(ValueError):
    """The model's arguments do not describe valid boundaries."""


def load(workspace):
    """(signal scores, signal weights in window, bkgd scores, bkgd weights)."""
    arr = lambda name: np.load(os.path.join(workspace, "arrays", name))
    sig, bkg = arr("signal.npy"), arr("bkgd.npy")
    s_sc, b_sc = arr("scores_signal.npy").reshape(-1), arr("scores_bkgd.npy").reshape(-1)
    if len(s_sc) != len(sig) or len(b_sc) != len(bkg):
        raise ValueError(f"scores do not match the events: {len(s_sc)} signal scores for "
                         f"{len(sig)} events, {len(b_sc)} bkgd scores for {len(bkg)} events")
    m = sig[:, COL_MGG]
    in_window = (m > WINDOW_GEV[0]) & (m < WINDOW_GEV[1])
    s_w = np.where(in_window, sig[:, COL_WEIGHT], 0.0)
    return s_sc.astype(np.float64), s_w, b_sc.astype(np.float64), bkg[:, COL_WEIGHT].astype(np.float64)


def z2(s, b):
    """Squared Asimov significance 2((s+b) ln(1+s/b) - s), elementwise; b > 0."""
    s, b = np.asarray(s, float), np.asarray(b, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 2 * ((s + b) * np.log1p(s / b) - s)
    return np.where(s > 0, out, 0.0)


def parse_boundaries(obj, max_boundaries=MAX_BOUNDARIES):
    """Validate tool arguments (already JSON-decoded); return a list of floats."""
    if not isinstance(obj, dict) or "boundaries" not in obj:
        raise BadArguments('arguments must be a JSON object with the key "boundaries"')
    extra = sorted(set(obj) - {"boundaries"})
    if extra:
        raise BadArguments(f"unknown argument(s) {extra}; only \"boundaries\" is accepted")
    bnd = obj["boundaries"]
    if not isinstance(bnd, list):
        raise BadArguments(f'"boundaries" must be a list of numbers, got {type(bnd).__name__}')
    for i, x in enumerate(bnd):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise BadArguments(f"boundaries[{i}] = {x!r} is not a number")
        if not math.isfinite(x) or not 0 < x < 1:
            raise BadArguments(f"boundaries[{i}] = {x!r} is not strictly between 0 and 1")
    for i in range(1, len(bnd)):
        if not bnd[i] > bnd[i - 1]:
            raise BadArguments(f"boundaries must be strictly increasing: boundaries[{i - 1}] = "
                               f"{bnd[i - 1]!r}, boundaries[{i}] = {bnd[i]!r}")
    if len(bnd) > max_boundaries:
        raise BadArguments(f"at most {max_boundaries} boundaries ({max_boundaries + 1} "
                           f"categories) are allowed, got {len(bnd)}")
    return [float(x) for x in bnd]


def evaluate(boundaries, data, min_bkg_events=MIN_BKG_EVENTS):
    """Per-category yields and Z for valid boundaries (see parse_boundaries)."""
    s_sc, s_w, b_sc, b_w = data
    k = len(boundaries) + 1
    cs = np.searchsorted(np.asarray(boundaries, float), s_sc, side="right")
    cb = np.searchsorted(np.asarray(boundaries, float), b_sc, side="right")
    s = np.bincount(cs, weights=s_w, minlength=k)
    b = np.bincount(cb, weights=b_w, minlength=k)
    nb = np.bincount(cb, minlength=k)
    edges = [0.0] + list(boundaries) + [1.0]
    cats, problems = [], []
    for i in range(k):
        ok = nb[i] >= min_bkg_events and b[i] > 0
        zi = math.sqrt(float(z2(s[i], b[i]))) if ok else None
        cats.append({"category": i, "score_range": [edges[i], edges[i + 1]],
                     "signal": float(s[i]), "background": float(b[i]),
                     "background_events": int(nb[i]), "z": zi})
        if not ok:
            problems.append(f"category {i} (score {edges[i]}..{edges[i + 1]}) has "
                            f"{int(nb[i])} bkgd events; at least {min_bkg_events} are required")
    valid = not problems
    z = math.sqrt(sum(c["z"] ** 2 for c in cats)) if valid else None
    out = {"boundaries": list(boundaries), "window_gev": list(WINDOW_GEV),
           "categories": cats, "z": z, "valid": valid}
    if problems:
        out["problems"] = problems
    return out


def error(message, code):
    print(json.dumps({"error": message, "example": EXAMPLE}))
    return code


def main(argv=None):
    ap = argparse.ArgumentParser(description="evaluate_boundaries tool: JSON on stdin, JSON on stdout")
    ap.add_argument("--workspace", default=os.environ.get("LLM4HEP_WORKSPACE", "/workspace"))
    ap.add_argument("--min-bkg-events", type=int, default=MIN_BKG_EVENTS)
    a = ap.parse_args(argv)
    text = sys.stdin.read()
    if not text.strip():
        return error('no arguments: expected a JSON object such as {"boundaries": [0.3, 0.6, 0.9]}', 2)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        return error(f"arguments are not valid JSON ({e.msg} at line {e.lineno} column {e.colno}): "
                     f"{text[:200]!r}", 2)
    try:
        bnd = parse_boundaries(obj)
    except BadArguments as e:
        return error(str(e), 2)
    try:
        data = load(a.workspace)
    except (OSError, ValueError, IndexError) as e:
        print(json.dumps({"error": f"cannot read the workspace arrays: {e}"}))
        return 3
    print(json.dumps(evaluate(bnd, data, a.min_bkg_events)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
