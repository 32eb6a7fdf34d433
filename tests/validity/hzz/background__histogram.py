# step: background
# expect: PASS
# variant: weighted histograms with the region edges as bin edges
import json
import os

import numpy as np

WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
data = np.load(os.path.join(WORKSPACE, "arrays", "quads_data.npy"))
mc = np.load(os.path.join(WORKSPACE, "arrays", "quads_mc.npy"))
edges = [115.0, 130.0, 160.0, 400.0]          # bins: SR, gap, CR (m4l never sits on an edge)


def yields(mask):
    h, _ = np.histogram(mc[mask, 2], bins=edges, weights=mc[mask, 6])
    return h[0], h[2]


zz = mc[:, 0] == 363490
sig = np.isin(mc[:, 0], [345060, 344235])
zz_sr, zz_cr = yields(zz)
_, other_cr = yields(~zz)
s_sr, _ = yields(sig)
n_cr = int(np.histogram(data[:, 2], bins=edges)[0][2])
mu = (n_cr - other_cr) / zz_cr
res = {"n_data_cr": n_cr, "zz_cr": float(zz_cr), "other_cr": float(other_cr), "mu_zz": float(mu),
       "zz_sr_mc": float(zz_sr), "b_sr": float(mu * zz_sr), "s_sr": float(s_sr)}
with open(os.path.join(WORKSPACE, "background.json"), "w") as fh:
    json.dump(res, fh)
print(res)
