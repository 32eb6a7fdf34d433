# step: quadruplets
# expect: PASS
# variant: fully vectorised: the three ways to split four leptons into two pairs, evaluated for all events at once
import os

import numpy as np

WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
MZ = 91.1876


def lep(a, f):
    return a[:, 11 + f:71:12]


def mass(p):
    return np.sqrt(np.clip(p[..., 0] ** 2 - (p[..., 1:] ** 2).sum(-1), 0, None))


def select(a, is_data):
    pt, eta, phi = lep(a, 0), lep(a, 1), lep(a, 2)
    e = lep(a, 5) == 11
    with np.errstate(all="ignore"):
        good = ((pt != -999) & (lep(a, 6) == 1) & (pt > np.where(e, 7.0, 5.0))
                & (lep(a, 7) < 0.15 * pt) & (lep(a, 8) < 0.20 * pt)
                & (np.abs(lep(a, 9)) < np.where(e, 5.0, 3.0) * lep(a, 10))
                & (np.abs(lep(a, 11)) < 0.5 * np.cosh(eta)))
        p4 = np.stack([lep(a, 3), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], -1)
    keep = (good.sum(1) == 4) & ((a[:, 2] + a[:, 3]) > 0)
    ev = np.flatnonzero(keep)
    slots = np.sort(np.argsort(~good[ev], axis=1, kind="stable")[:, :4], axis=1)
    P = np.take_along_axis(p4[ev], slots[:, :, None], 1)
    T = np.take_along_axis(lep(a, 5)[ev], slots, 1)
    Q = np.take_along_axis(lep(a, 4)[ev], slots, 1)
    # candidate pairs in the order (0,1) (0,2) (0,3) (1,2) (1,3) (2,3); partner = complement
    pairs = np.array([(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)])
    comp = pairs[::-1]
    ok_pair = lambda p: (T[:, p[0]] == T[:, p[1]]) & (Q[:, p[0]] + Q[:, p[1]] == 0)
    ok = np.stack([ok_pair(p) & ok_pair(c) for p, c in zip(pairs, comp)], 1)
    dist = np.stack([np.abs(mass(P[:, p[0]] + P[:, p[1]]) - MZ) for p in pairs], 1)
    dist = np.where(ok, dist, np.inf)
    k = dist.argmin(1)
    has = ok.any(1)
    z1, z2 = pairs[k], comp[k]
    g = lambda M, z: np.take_along_axis(M, z[:, :, None] if M.ndim == 3 else z, 1)
    m1, m2 = mass(g(P, z1).sum(1)), mass(g(P, z2).sum(1))
    m4 = mass(P.sum(1))
    spt = -np.sort(-np.take_along_axis(pt[ev], slots, 1), 1)
    sel = (has & (spt[:, 0] > 20) & (spt[:, 1] > 15) & (spt[:, 2] > 10)
           & (m1 > 50) & (m1 < 106) & (m2 > 12) & (m2 < 115))
    r = a[ev]
    w = np.ones(len(ev)) if is_data else r[:, 4] * r[:, 7] * r[:, 8] * r[:, 9] * r[:, 10] * r[:, 6] * 10064 / r[:, 5]
    fs = 2 * (g(T, z1)[:, 0] == 11) + (g(T, z2)[:, 0] == 11)
    out = np.column_stack([r[:, 0], ev, m4, m1, m2, fs, w, g(slots, z1), g(slots, z2)])
    return out[sel].astype(np.float64)


for src, dst, is_data in (("data_leptons.npy", "quads_data.npy", True), ("mc_leptons.npy", "quads_mc.npy", False)):
    q = select(np.load(os.path.join(WORKSPACE, "arrays", src)), is_data)
    np.save(os.path.join(WORKSPACE, "arrays", dst), q)
    print(dst, q.shape, q[:, 6].sum())
