# step: quadruplets
# expect: FAIL
# mistake: weight without scaleFactor_PILEUP
import os

import numpy as np

WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
MZ = 91.1876


def field(a, f):
    return a[:, 11 + f:71:12]


def select(a, is_data):
    pt, eta, phi, E = field(a, 0), field(a, 1), field(a, 2), field(a, 3)
    q, typ = field(a, 4), field(a, 5)
    ele = typ == 11
    with np.errstate(all="ignore"):
        good = pt != -999.0
        good &= field(a, 6) == 1
        good &= np.where(ele, pt > 7, pt > 5)
        good &= field(a, 7) / pt < 0.15
        good &= field(a, 8) / pt < 0.20
        good &= np.abs(field(a, 9)) / field(a, 10) < np.where(ele, 5, 3)
        good &= np.abs(field(a, 11) / np.cosh(eta)) < 0.5
        px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    rows = []
    for i in np.flatnonzero((good.sum(1) == 4) & ((a[:, 2] == 1) | (a[:, 3] == 1))):
        idx = np.flatnonzero(good[i])[:4]
        p4 = np.stack([E[i, idx], px[i, idx], py[i, idx], pz[i, idx]], 1)
        m = lambda v: np.sqrt(max(v[0] ** 2 - v[1] ** 2 - v[2] ** 2 - v[3] ** 2, 0.0))
        sfos = lambda x, y: typ[i, idx[x]] == typ[i, idx[y]] and q[i, idx[x]] == -q[i, idx[y]]
        best = None
        for x, y in [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]:
            u, v = [k for k in range(4) if k not in (x, y)]
            if sfos(x, y) and sfos(u, v):
                d = abs(m(p4[x] + p4[y]) - MZ)
                if best is None or d < best[0]:
                    best = (d, (x, y), (u, v))
        if best is None:
            continue
        _, z1, z2 = best
        m1, m2 = m(p4[z1[0]] + p4[z1[1]]), m(p4[z2[0]] + p4[z2[1]])
        m4 = m(p4.sum(0))
        spt = sorted(pt[i, idx], reverse=True)
        if not (spt[0] > 20 and spt[1] > 15 and spt[2] > 10):
            continue
        if not (50 < m1 < 106):
            continue
        if not (12 < m2 < 115):
            continue
        e1, e2 = typ[i, idx[z1[0]]] == 11, typ[i, idx[z2[0]]] == 11
        r = a[i]
        w = 1.0 if is_data else r[4] * r[8] * r[9] * r[10] * r[6] * 10064 / r[5]
        rows.append([r[0], i, m4, m1, m2, 2 * e1 + e2, w,
                     idx[z1[0]], idx[z1[1]], idx[z2[0]], idx[z2[1]]])
    return np.array(rows, dtype=np.float64).reshape(-1, 11)


for src, dst, is_data in (("data_leptons.npy", "quads_data.npy", True),
                          ("mc_leptons.npy", "quads_mc.npy", False)):
    a = np.load(os.path.join(WORKSPACE, "arrays", src))
    out = select(a, is_data)
    np.save(os.path.join(WORKSPACE, "arrays", dst), out)
    print(dst, out.shape, "sum of weights", out[:, 6].sum())
