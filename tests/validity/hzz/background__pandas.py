# step: background
# expect: PASS
# variant: pandas groupby over the samples
import json
import os

import numpy as np
import pandas as pd

WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
cols = ["dsid", "row", "m4l", "mz1", "mz2", "fs", "w", "a", "b", "c", "d"]
data = pd.DataFrame(np.load(os.path.join(WORKSPACE, "arrays", "quads_data.npy")), columns=cols)
mc = pd.DataFrame(np.load(os.path.join(WORKSPACE, "arrays", "quads_mc.npy")), columns=cols)
mc["kind"] = np.select([mc.dsid == 363490, mc.dsid.isin([345060, 344235])], ["zz", "sig"], "other")
cr = mc[(mc.m4l > 160) & (mc.m4l < 400)].groupby("kind").w.sum()
sr = mc[(mc.m4l > 115) & (mc.m4l < 130)].groupby("kind").w.sum()
n = int(((data.m4l > 160) & (data.m4l < 400)).sum())
other = float(cr.drop("zz").sum())
mu = (n - other) / cr["zz"]
out = dict(n_data_cr=n, zz_cr=float(cr["zz"]), other_cr=other, mu_zz=float(mu),
           zz_sr_mc=float(sr["zz"]), b_sr=float(mu * sr["zz"]), s_sr=float(sr.get("sig", 0.0)))
with open(os.path.join(WORKSPACE, "background.json"), "w") as fh:
    json.dump(out, fh, indent=1)
print(out)
