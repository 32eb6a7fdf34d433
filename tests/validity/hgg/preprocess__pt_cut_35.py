# step: preprocess
# expect: FAIL
# mistake: photon pT cut at 35 GeV instead of 25
import os

import numpy as np

WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
A = os.path.join(WORKSPACE, "arrays")
LUMI = 10064.0

def mass_pt(a):
    pt1, eta1, phi1, pt2, eta2, phi2 = (a[:, i] for i in range(6))
    with np.errstate(invalid="ignore", over="ignore"):
        m = np.sqrt(2 * pt1 * pt2 * (np.cosh(eta1 - eta2) - np.cos(phi1 - phi2)))
        pt = np.sqrt(pt1**2 + pt2**2 + 2 * pt1 * pt2 * np.cos(phi1 - phi2))
    return m, pt

def select(a):
    m = a[:, 44]
    ok = (a[:, 35] == 1) & (a[:, 36] == 1)
    for c in (0, 3):
        eta = np.abs(a[:, c + 1])
        ok &= a[:, c] > 35
        ok &= (eta < 1.37) | ((eta > 1.52) & (eta < 2.37))
    with np.errstate(divide="ignore", invalid="ignore"):
        ok &= (m > 0) & (a[:, 0] / m > 0.35) & (a[:, 3] / m > 0.25)
    ok &= (m > 105) & (m < 160)
    return ok

for name, src in (("signal.npy", "signal_raw.npy"), ("bkgd.npy", "data_raw.npy")):
    a = np.load(os.path.join(A, src)).copy()

    a[:, 44], a[:, 45] = mass_pt(a)
    a = a[select(a)]
    if name == "signal.npy":
        a[:, 32] = a[:, 32] * a[:, 37] * a[:, 38] * a[:, 39] * a[:, 34] * LUMI / a[:, 33]
    else:
        m = a[:, 44]
        a = a[(m < 120) | (m > 130)]
        a[:, 32] = 4.0 / 45.0

    np.save(os.path.join(A, name), a)
    print(name, a.shape, a[:, 32].sum())
