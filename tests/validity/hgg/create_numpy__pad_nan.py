# step: create_numpy
# expect: FAIL
# mistake: missing objects padded with NaN
import glob
import os

import h5py
import numpy as np

DATA = os.environ.get("LLM4HEP_DATA", "/data")
WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
PAD = np.nan
SF = ["PILEUP", "PHOTON", "PhotonTRIGGER", "ELE", "MUON", "LepTRIGGER", "BTAG"]
GEV = 1000.0

def kth(t, branch, count, k):
    n = t[count][:].astype(np.int64)
    values = t[branch][:]
    start = np.concatenate([[0], np.cumsum(n)[:-1]])
    out = np.full(len(n), PAD)
    has = n > k
    out[has] = values[start[has] + k]
    return out

def rows(path):
    with h5py.File(path, "r") as f:
        t = f["mini"]
        cols = []
        for prefix, count, nobj in (("photon", "photon_n", 2), ("lep", "lep_n", 2), ("jet", "jet_n", 6)):
            for k in range(nobj):
                pt = kth(t, prefix + "_pt", count, k)
                cols += [np.where(pt == PAD, PAD, pt / GEV), kth(t, prefix + "_eta", count, k),
                         kth(t, prefix + "_phi", count, k)]
        cols += [t["met_et"][:] / GEV, t["met_phi"][:], t["mcWeight"][:], t["SumWeights"][:], t["XSection"][:]]
        for k in (0, 1):
            cols.append(kth(t, "photon_isTightID", "photon_n", k))
        cols += [t["scaleFactor_" + s][:] for s in SF]
        n = len(cols[0])
        cols += [np.full(n, np.nan), np.full(n, np.nan)]
    return np.column_stack([np.asarray(c, dtype=np.float64) for c in cols])

for out, sub in (("data_raw.npy", "Data"), ("signal_raw.npy", "MC")):
    paths = sorted(glob.glob(os.path.join(DATA, sub, "*.GamGam.h5")))
    parts = [rows(p) for p in paths]
    arr = np.concatenate(parts)

    np.save(os.path.join(WORKSPACE, "arrays", out), arr)
    print(out, arr.shape)
