# step: background
# expect: FAIL
# mistake: control region m4l > 160 GeV with no upper edge
import json
import os

import numpy as np

WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
data = np.load(os.path.join(WORKSPACE, "arrays", "quads_data.npy"))
mc = np.load(os.path.join(WORKSPACE, "arrays", "quads_mc.npy"))
inside = lambda m, lo, hi: (m > lo) & (m < hi)
dsid, m, w = mc[:, 0], mc[:, 2], mc[:, 6]
zz = dsid == 363490
sig = (dsid == 345060) | (dsid == 344235)
cr, sr = inside(m, 160, 1e9), inside(m, 115, 130)
n_data_cr = int(inside(data[:, 2], 160, 1e9).sum())
zz_cr = float(w[zz & cr].sum())
other_cr = float(w[~zz & cr].sum())
mu = (n_data_cr - other_cr) / zz_cr
zz_sr = float(w[zz & sr].sum())
res = {"n_data_cr": n_data_cr, "zz_cr": zz_cr, "other_cr": other_cr, "mu_zz": mu,
       "zz_sr_mc": zz_sr, "b_sr": mu * zz_sr, "s_sr": float(w[sig & sr].sum())}
json.dump(res, open(os.path.join(WORKSPACE, "background.json"), "w"))
print(res)
