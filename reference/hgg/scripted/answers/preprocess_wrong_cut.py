# m_gg and pT_gg, photon selection, MC weights and sideband background.
import os

import numpy as np

WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
LUMI = 10064.0  # pb^-1


def fill_diphoton(a):
    pt1, eta1, phi1, pt2, eta2, phi2 = (a[:, i] for i in range(6))
    dphi = phi1 - phi2
    with np.errstate(invalid="ignore", over="ignore"):
        a[:, 44] = np.sqrt(2 * pt1 * pt2 * (np.cosh(eta1 - eta2) - np.cos(dphi)))
        a[:, 45] = np.sqrt(pt1**2 + pt2**2 + 2 * pt1 * pt2 * np.cos(dphi))
    return a


def eta_ok(eta):
    ae = np.abs(eta)
    return ae < 2.37


def select(a):
    m = a[:, 44]
    with np.errstate(invalid="ignore", divide="ignore"):
        keep = ((a[:, 35] == 1) & (a[:, 36] == 1)
                & (a[:, 0] > 25) & (a[:, 3] > 25)
                & eta_ok(a[:, 1]) & eta_ok(a[:, 4])
                & (m > 0) & (a[:, 0] / m > 0.35) & (a[:, 3] / m > 0.25)
                & (m > 105) & (m < 160))
    return a[keep]


sig = select(fill_diphoton(np.load(os.path.join(WORKSPACE, "arrays", "signal_raw.npy"))))
sig[:, 32] = sig[:, 32] * sig[:, 37] * sig[:, 38] * sig[:, 39] * sig[:, 34] * LUMI / sig[:, 33]

bkg = select(fill_diphoton(np.load(os.path.join(WORKSPACE, "arrays", "data_raw.npy"))))
bkg = bkg[(bkg[:, 44] < 120) | (bkg[:, 44] > 130)]
bkg[:, 32] = 4.0 / 45.0

np.save(os.path.join(WORKSPACE, "arrays", "signal.npy"), sig)
np.save(os.path.join(WORKSPACE, "arrays", "bkgd.npy"), bkg)
h, edges = np.histogram(sig[:, 44], bins=110, range=(105, 160), weights=sig[:, 32])
print("signal", sig.shape, "sum of weights %.2f" % sig[:, 32].sum(),
      "peak at %.2f GeV" % (edges[np.argmax(h)] + 0.25))
print("bkgd", bkg.shape)
