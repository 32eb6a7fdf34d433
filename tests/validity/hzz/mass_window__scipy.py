# step: mass_window
# expect: PASS
# variant: coarse scan then scipy Nelder-Mead refinement of (low, high)
import json
import os

import numpy as np
from scipy.optimize import minimize

WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
mc = np.load(os.path.join(WORKSPACE, "arrays", "quads_mc.npy"))
mu = json.load(open(os.path.join(WORKSPACE, "background.json")))["mu_zz"]
m, w, d = mc[:, 2], mc[:, 6], mc[:, 0]
s_m, s_w = m[np.isin(d, [345060, 344235])], w[np.isin(d, [345060, 344235])]
b_m = m[~np.isin(d, [345060, 344235])]
b_w = np.where(d == 363490, mu, 1.0)[~np.isin(d, [345060, 344235])] * w[~np.isin(d, [345060, 344235])]
zz_m = m[d == 363490]


def z(x):
    lo, hi = x
    if not (105 <= lo < hi <= 160) or hi - lo < 2 or ((zz_m > lo) & (zz_m < hi)).sum() < 10:
        return 0.0
    s = s_w[(s_m > lo) & (s_m < hi)].sum()
    b = b_w[(b_m > lo) & (b_m < hi)].sum()
    return float(np.sqrt(2 * ((s + b) * np.log(1 + s / b) - s))) if b > 0 else 0.0


start = max(((lo, hi) for lo in range(110, 130) for hi in range(lo + 2, 141)), key=z)
res = minimize(lambda x: -z(x), np.array(start, float), method="Nelder-Mead",
               options={"xatol": 0.05, "fatol": 1e-6, "initial_simplex": [start, (start[0] - 1, start[1]), (start[0], start[1] + 1)]})
best = res.x if z(res.x) >= z(start) else np.array(start, float)
lo, hi = float(best[0]), float(best[1])
json.dump({"low": lo, "high": hi, "z": z((lo, hi))}, open(os.path.join(WORKSPACE, "window.json"), "w"))
print(lo, hi, z((lo, hi)), "115-130:", z((115, 130)))
