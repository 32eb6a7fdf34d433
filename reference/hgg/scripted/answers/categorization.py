# Scan score boundaries for the largest combined Asimov significance.
import itertools
import json
import os

import numpy as np

WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
load = lambda name: np.load(os.path.join(WORKSPACE, "arrays", name))
sig, bkg = load("signal.npy"), load("bkgd.npy")
ss, sb = load("scores_signal.npy"), load("scores_bkgd.npy")
in_window = (sig[:, 44] > 123) & (sig[:, 44] < 127)
ws = np.where(in_window, sig[:, 32], 0.0)
wb = bkg[:, 32]


def significance(bounds):
    """(Z, per-category list) or (None, ...) when a category has < 10 bkgd events."""
    cs = np.searchsorted(bounds, ss, side="right")
    cb = np.searchsorted(bounds, sb, side="right")
    k = len(bounds) + 1
    s = np.bincount(cs, weights=ws, minlength=k)
    b = np.bincount(cb, weights=wb, minlength=k)
    n = np.bincount(cb, minlength=k)
    if (n < 10).any():
        return None, []
    z2 = 2 * ((s + b) * np.log1p(s / b) - s)
    return float(np.sqrt(z2.sum())), [(float(x), float(y), float(np.sqrt(z))) for x, y, z in zip(s, b, z2)]


# coarse exhaustive scan, then refine one boundary at a time on a 0.001 grid
best = (significance([])[0], [])
coarse = np.round(np.arange(0.05, 1.0, 0.05), 3)
for k in range(1, 5):
    for combo in itertools.combinations(coarse, k):
        z, _ = significance(list(combo))
        if z is not None and z > best[0]:
            best = (z, list(combo))
z_best, bounds = best
for _ in range(3):
    for i in range(len(bounds)):
        lo = bounds[i - 1] + 0.001 if i > 0 else 0.001
        hi = bounds[i + 1] - 0.001 if i + 1 < len(bounds) else 0.999
        for x in np.round(np.arange(lo, hi + 1e-9, 0.001), 3):
            trial = bounds[:i] + [float(x)] + bounds[i + 1:]
            z, _ = significance(trial)
            if z is not None and z > z_best:
                z_best, bounds = z, trial

z, cats = significance(bounds)
for i, (s, b, zc) in enumerate(cats):
    print(f"category {i}: s = {s:.2f}, b = {b:.2f}, Z = {zc:.3f}")
print("boundaries", bounds, "Z = %.4f" % z, "(single category: %.4f)" % significance([])[0])
with open(os.path.join(WORKSPACE, "categories.json"), "w") as fh:
    json.dump({"boundaries": [float(x) for x in bounds], "z": z}, fh)
