import os

import h5py
import numpy as np
import pandas as pd

DATA = os.environ.get("LLM4HEP_DATA", "/data")
WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
EVENT = ["channelNumber", "lep_n", "trigE", "trigM", "mcWeight", "SumWeights", "XSection",
         "scaleFactor_PILEUP", "scaleFactor_ELE", "scaleFactor_MUON", "scaleFactor_LepTRIGGER"]
LEP = ["lep_pt", "lep_eta", "lep_phi", "lep_E", "lep_charge", "lep_type", "lep_isTightID",
       "lep_ptcone30", "lep_etcone20", "lep_trackd0pvunbiased", "lep_tracksigd0pvunbiased", "lep_z0"]


def rows_of(path):
    with h5py.File(path, "r") as f:
        t = f["mini"]
        df = pd.DataFrame({b: t[b][...].astype(np.float64) for b in EVENT})
        n = t["lep_n"][...].astype(np.int64)
        lep = np.stack([t[b][...].astype(np.float64) for b in LEP], 1)
    lep[:, [0, 3, 7, 8]] *= 1e-3
    start = np.concatenate([[0], np.cumsum(n)[:-1]])
    blocks = np.full((len(n), 5, 12), -999.0)
    for k in range(5):
        has = n > k
        blocks[has, k] = lep[start[has] + k]
    return np.hstack([df.to_numpy(), blocks.reshape(len(n), 60)])


for sub, name in (("Data", "data_leptons.npy"), ("MC", "mc_leptons.npy")):
    files = sorted(os.listdir(os.path.join(DATA, sub)))
    arr = np.concatenate([rows_of(os.path.join(DATA, sub, f)) for f in files])
    np.save(os.path.join(WORKSPACE, "arrays", name), arr)
    print(name, arr.shape)
