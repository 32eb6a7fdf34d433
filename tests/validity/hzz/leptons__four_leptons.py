# step: leptons
# expect: FAIL
# mistake: keeps only four leptons per event (the fifth slot left padded)
import os

import h5py
import numpy as np

DATA = os.environ.get("LLM4HEP_DATA", "/data")
WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
EVENT = ["channelNumber", "lep_n", "trigE", "trigM", "mcWeight", "SumWeights", "XSection",
         "scaleFactor_PILEUP", "scaleFactor_ELE", "scaleFactor_MUON", "scaleFactor_LepTRIGGER"]
LEP = ["lep_pt", "lep_eta", "lep_phi", "lep_E", "lep_charge", "lep_type", "lep_isTightID",
       "lep_ptcone30", "lep_etcone20", "lep_trackd0pvunbiased", "lep_tracksigd0pvunbiased", "lep_z0"]
GEV = {"lep_pt", "lep_E", "lep_ptcone30", "lep_etcone20"}
PAD = -999.0
NLEP = 5


def rows_of(path):
    with h5py.File(path, "r") as f:
        t = f["mini"]
        ev = {b: t[b][...].astype(np.float64) for b in EVENT}
        lep = {b: t[b][...].astype(np.float64) for b in LEP}
        n = t["lep_n"][...].astype(np.int64)
    off = np.concatenate([[0], np.cumsum(n)])
    out = np.full((len(n), 11 + 12 * NLEP), PAD)
    for i in range(len(n)):
        out[i, :11] = [ev[b][i] for b in EVENT]
        for k in range(min(n[i], 4)):
            for j, b in enumerate(LEP):
                v = lep[b][off[i] + k]
                out[i, 11 + 12 * k + j] = v / 1000.0 if b in GEV else v
    return out


for sub, name in (("Data", "data_leptons.npy"), ("MC", "mc_leptons.npy")):
    files = sorted(os.listdir(os.path.join(DATA, sub)))
    arr = np.concatenate([rows_of(os.path.join(DATA, sub, f)) for f in files])
    np.save(os.path.join(WORKSPACE, "arrays", name), arr)
    print(name, arr.shape)
