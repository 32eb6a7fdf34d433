# step: categorization
# expect: FAIL
# mistake: objective s/sqrt(b) per category instead of the Asimov Z
import json
import os

import numpy as np

WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
A = os.path.join(WORKSPACE, "arrays")
sig, bkg = np.load(os.path.join(A, "signal.npy")), np.load(os.path.join(A, "bkgd.npy"))
ss, sb = np.load(os.path.join(A, "scores_signal.npy")), np.load(os.path.join(A, "scores_bkgd.npy"))
win = (sig[:, 44] > 123) & (sig[:, 44] < 127)
ws = np.where(win, sig[:, 32], 0.0)
wb = bkg[:, 32].copy()

def z_of(s, b):
    return s / np.sqrt(b)

def evaluate(bounds, ws=ws, wb=wb):
    """Exact Z of these boundaries (None when a category has < 10 bkgd events)."""
    bounds = np.asarray(bounds, float)
    k = len(bounds) + 1
    cs, cb = np.searchsorted(bounds, ss, side="right"), np.searchsorted(bounds, sb, side="right")
    s = np.bincount(cs, weights=ws, minlength=k)
    b = np.bincount(cb, weights=wb, minlength=k)
    n = np.bincount(cb, minlength=k)
    if (n < 10).any() or (b <= 0).any():
        return None
    return float(np.sqrt(np.sum(z_of(s, b) ** 2)))

# cumulative sums on a 0.001 grid: the scan evaluates boundaries on the grid quickly
STEP = 0.001
edges = np.round(np.arange(1, 1000) * STEP, 3)
binS = np.searchsorted(edges, ss, side="right")
binB = np.searchsorted(edges, sb, side="right")
CS = np.r_[0, np.cumsum(np.bincount(binS, weights=ws, minlength=1000))]
CB = np.r_[0, np.cumsum(np.bincount(binB, weights=wb, minlength=1000))]
CN = np.r_[0, np.cumsum(np.bincount(binB, minlength=1000))]

def fast(bounds):
    """Z of grid boundaries from the cumulative sums (same result as evaluate on the grid)."""
    idx = np.r_[0, np.rint(np.asarray(bounds, float) / STEP).astype(int), 1000]
    s, b, n = np.diff(CS[idx]), np.diff(CB[idx]), np.diff(CN[idx])
    if (n < 10).any() or (b <= 0).any():
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sqrt(np.sum(np.where(s > 0, z_of(s, b) ** 2, 0.0))))


grid = np.round(np.arange(0.01, 1.0, 0.01), 3)
best_z, best = evaluate([]), []
for _ in range(4):   # greedy: add the boundary that helps most, then polish each one
    cand = None
    for x in grid:
        if x in best:
            continue
        z = fast(sorted(best + [float(x)]))
        if z is not None and (cand is None or z > cand[0]):
            cand = (z, sorted(best + [float(x)]))
    if cand is None or cand[0] <= best_z:
        break
    best_z, best = cand
for _ in range(3):
    for i in range(len(best)):
        lo = best[i - 1] if i else 0.0
        hi = best[i + 1] if i + 1 < len(best) else 1.0
        for x in np.round(np.arange(lo + 0.001, hi - 0.0005, 0.001), 3):
            trial = best[:i] + [float(x)] + best[i + 1:]
            z = fast(trial)
            if z is not None and z > best_z:
                best_z, best = z, trial
best_z = evaluate(best)

print("boundaries", best, "Z", best_z, "single category", evaluate([]))
with open(os.path.join(WORKSPACE, "categories.json"), "w") as fh:
    json.dump({"boundaries": [float(x) for x in best], "z": best_z}, fh)
