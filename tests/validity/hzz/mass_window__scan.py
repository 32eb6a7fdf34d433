# step: mass_window
# expect: PASS
# variant: exhaustive scan of windows on a 0.5 GeV grid with its own Z code
import json
import os

import numpy as np

WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
mc = np.load(os.path.join(WORKSPACE, "arrays", "quads_mc.npy"))
mu = json.load(open(os.path.join(WORKSPACE, "background.json")))["mu_zz"]
dsid, m, w = mc[:, 0], mc[:, 2], mc[:, 6]
sig = np.isin(dsid, [345060, 344235])
zz = dsid == 363490
wb = np.where(zz, mu * w, w)


def z_of(lo, hi):
    ins = (m > lo) & (m < hi)
    s, b = w[sig & ins].sum(), wb[~sig & ins].sum()
    if (zz & ins).sum() < 10 or b <= 0 or hi - lo < 2:
        return None
    return float(np.sqrt(2 * ((s + b) * np.log1p(s / b) - s)))


best = (0.0, None, None)
grid = np.arange(105.0, 160.0 + 1e-9, 0.5)
for lo in grid:
    for hi in grid[grid > lo]:
        z = z_of(lo, hi)
        if z is not None and z > best[0]:
            best = (z, float(lo), float(hi))
z, lo, hi = best
json.dump({"low": lo, "high": hi, "z": z}, open(os.path.join(WORKSPACE, "window.json"), "w"))
print(f"window {lo}-{hi}: Z = {z:.3f}; 115-130: Z = {z_of(115, 130):.3f}")
