# Build data_raw.npy and signal_raw.npy, shape (N, 46), from the HDF5 files.
import glob
import os

import h5py
import numpy as np

DATA = os.environ.get("LLM4HEP_DATA", "/data")
WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
PAD = -999.0
OBJECTS = [("photon", "photon_n", 2), ("lep", "lep_n", 2), ("jet", "jet_n", 6)]  # prefix, count, how many
SF = ["PILEUP", "PHOTON", "PhotonTRIGGER", "ELE", "MUON", "LepTRIGGER", "BTAG"]


def kth(t, branch, count, k):
    """k-th object's value per event, PAD when the event has fewer objects."""
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
        for prefix, count, nobj in OBJECTS:
            for k in range(1, nobj + 1):   # object number k
                pt = kth(t, prefix + "_pt", count, k)
                cols += [np.where(pt == PAD, PAD, pt / 1000.0),
                         kth(t, prefix + "_eta", count, k), kth(t, prefix + "_phi", count, k)]
        cols += [t["met_et"][:] / 1000.0, t["met_phi"][:], t["mcWeight"][:],
                 t["SumWeights"][:], t["XSection"][:]]
        tight = t["photon_isTightID"][:].astype(np.float64)
        n = t["photon_n"][:].astype(np.int64)
        start = np.concatenate([[0], np.cumsum(n)[:-1]])
        for k in (0, 1):
            col = np.full(len(n), PAD)
            col[n > k] = tight[start[n > k] + k]
            cols.append(col)
        cols += [t["scaleFactor_" + s][:] for s in SF]
        nev = len(n)
        cols += [np.full(nev, np.nan), np.full(nev, np.nan)]
    return np.column_stack([np.asarray(c, dtype=np.float64) for c in cols])


for out, sub in (("data_raw.npy", "Data"), ("signal_raw.npy", "MC")):
    parts = []
    for path in sorted(glob.glob(os.path.join(DATA, sub, "*.GamGam.h5"))):
        r = rows(path)
        print(os.path.basename(path), r.shape[0], "events")
        parts.append(r)
    arr = np.concatenate(parts)
    assert arr.shape[1] == 46
    np.save(os.path.join(WORKSPACE, "arrays", out), arr)
    print(out, arr.shape)
