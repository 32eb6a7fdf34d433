#!/usr/bin/env python3
"""Reference solution of the H->ZZ*->4l suite, one step per call.

    soln.py --step N --data DATA_DIR --out WORKSPACE [--format auto|hdf5|root]

Writes exactly what the step prompts ask for, laid out as an agent's
workspace. Steps 3-5 read the outputs of earlier steps from WORKSPACE (the
reference directory holds them all). Inputs: DATA_DIR/Data/data_*.4lep.{h5,root}
and DATA_DIR/MC/mc_*.4lep.{h5,root}; HDF5 from gen/generate.py (flat vector
branches + counts) or the real ROOT files through uproot (Perlmutter).
Reruns give identical bytes.

  1 summarize        summary.json + summary.txt
  2 leptons          arrays/data_leptons.npy, arrays/mc_leptons.npy   (N, 71)
  3 quadruplets      arrays/quads_data.npy, arrays/quads_mc.npy       (M, 11)
  4 background       background.json
  5 mass_window      window.json

The definitions (column layouts, cuts, regions) are stated in the prompts
prompts/hzz_*.txt; the constants below are the same numbers.
"""
import argparse
import glob
import importlib.util
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PAD = -999.0
LUMI_PB = 10064.0
M_Z = 91.1876
MAX_LEP = 5
EVENT_COLS = ["channelNumber", "lep_n", "trigE", "trigM", "mcWeight", "SumWeights", "XSection",
              "scaleFactor_PILEUP", "scaleFactor_ELE", "scaleFactor_MUON", "scaleFactor_LepTRIGGER"]
LEP_COLS = ["lep_pt", "lep_eta", "lep_phi", "lep_E", "lep_charge", "lep_type", "lep_isTightID",
            "lep_ptcone30", "lep_etcone20", "lep_trackd0pvunbiased", "lep_tracksigd0pvunbiased",
            "lep_z0"]
MEV_FIELDS = {"lep_pt", "lep_E", "lep_ptcone30", "lep_etcone20"}
NCOL = len(EVENT_COLS) + MAX_LEP * len(LEP_COLS)            # 71
F = {name[4:]: i for i, name in enumerate(LEP_COLS)}         # field -> offset in a lepton block
# selection (prompts/hzz_quadruplets.txt)
PT_MIN = {11: 7.0, 13: 5.0}
D0SIG_MAX = {11: 5.0, 13: 3.0}
Z0_SIN_MAX = 0.5
PTCONE_REL, ETCONE_REL = 0.15, 0.20
PT_LEAD = (20.0, 15.0, 10.0)
MZ1_RANGE, MZ2_RANGE = (50.0, 106.0), (12.0, 115.0)
QUAD_COLS = ["channelNumber", "row", "m4l", "mZ1", "mZ2", "final_state", "weight",
             "z1_lep_a", "z1_lep_b", "z2_lep_a", "z2_lep_b"]
# background (prompts/hzz_background.txt)
SIGNAL_DSIDS = (345060, 344235)
ZZ_DSID = 363490
SR, CR = (115.0, 130.0), (160.0, 400.0)


# ----------------------------------------------------------------- readers

def find_samples(data_dir, fmt="auto"):
    """(format, data files, MC files), each list sorted by file name."""
    for ext, name in (("h5", "hdf5"), ("root", "root")):
        if fmt not in ("auto", name):
            continue
        data = sorted(glob.glob(os.path.join(data_dir, "Data", f"data_*.4lep.{ext}")), key=os.path.basename)
        mc = sorted(glob.glob(os.path.join(data_dir, "MC", f"mc_*.4lep.{ext}")), key=os.path.basename)
        if data or mc:
            return name, data, mc
    sys.exit(f"soln.py: no Data/data_*.4lep.* or MC/mc_*.4lep.* files under {data_dir}")


def read_hdf5(path, names):
    """{branch: array} for scalars; {branch: (flat values, counts)} for vectors."""
    import h5py
    out = {}
    with h5py.File(path, "r") as f:
        t = f["mini"]
        for b in names:
            d = t[b]
            if "counts" in d.attrs:
                out[b] = (d[...], t[d.attrs["counts"]][...].astype(np.int64))
            else:
                out[b] = d[...]
    return out


def read_root(path, names):
    """Same contract as read_hdf5, through uproot (imported only here)."""
    import awkward as ak
    import uproot
    out = {}
    with uproot.open(path) as f:
        arrays = f["mini"].arrays(names, library="ak")
        for b in names:
            a = arrays[b]
            if a.ndim > 1:
                out[b] = (ak.to_numpy(ak.flatten(a)), ak.to_numpy(ak.num(a)).astype(np.int64))
            else:
                out[b] = ak.to_numpy(a)
    return out


def norm_type(t):
    """Canonical type name: float32, float64, int32, uint32, bool, vector<...>."""
    t = t.strip().replace("std::", "")
    if t.startswith("vector<") and t.endswith(">"):
        return f"vector<{norm_type(t[7:-1])}>"
    return {"float": "float32", "double": "float64", "int": "int32", "int32_t": "int32",
            "unsigned int": "uint32", "uint32_t": "uint32", "bool_": "bool", "Bool_t": "bool",
            "Float_t": "float32", "Int_t": "int32", "UInt_t": "uint32"}.get(t, t)


def tree_info_hdf5(path):
    import h5py
    trees = {}
    with h5py.File(path, "r") as f:
        for tname in sorted(f):
            t = f[tname]
            if not isinstance(t, h5py.Group):
                continue
            br = {}
            for name in t:
                d = t[name]
                typ = "bool" if d.dtype == bool else d.dtype.name
                br[name] = f"vector<{typ}>" if "counts" in d.attrs else typ
            trees[tname] = {"entries": int(t.attrs["entries"]), "branches": br}
    return trees


def tree_info_root(path):
    import uproot
    trees = {}
    with uproot.open(path) as f:
        for key, cls in sorted(f.classnames().items()):
            if cls != "TTree":
                continue
            name = key.split(";")[0]
            t = f[name]
            trees[name] = {"entries": int(t.num_entries),
                           "branches": {b: norm_type(t[b].typename) for b in sorted(t.keys())}}
    return trees


READERS = {"hdf5": (read_hdf5, tree_info_hdf5), "root": (read_root, tree_info_root)}


# ----------------------------------------------------------------- step 1

def step_summarize(data_dir, out, fmt):
    fmt, data, mc = find_samples(data_dir, fmt)
    info = READERS[fmt][1]
    files = []
    for path in data + mc:
        for tname, t in info(path).items():
            files.append({"path": os.path.relpath(path, data_dir), "tree": tname,
                          "entries": t["entries"], "branches": t["branches"]})
    totals = {"data": sum(f["entries"] for f in files if f["path"].startswith("Data/")),
              "mc": sum(f["entries"] for f in files if f["path"].startswith("MC/"))}
    with open(os.path.join(out, "summary.json"), "w") as fh:
        json.dump({"files": files, "totals": totals}, fh, indent=1)
        fh.write("\n")
    lines = [f"Input files: {len(data)} data, {len(mc)} MC ({fmt})", ""]
    for f in files:
        lines.append(f"{f['path']}: tree {f['tree']}, {f['entries']} entries, {len(f['branches'])} branches")
        lines += [f"    {b:28s} {typ}" for b, typ in f["branches"].items()]
        lines.append("")
    lines += [f"Total data entries: {totals['data']}", f"Total MC entries: {totals['mc']}"]
    with open(os.path.join(out, "summary.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print(f"totals: data {totals['data']}, MC {totals['mc']}")


# ----------------------------------------------------------------- step 2

def lepton_rows(b):
    """(N, 71) rows of one file: event columns, then 5 leptons x 12 fields."""
    n = len(b["lep_n"])
    out = np.full((n, NCOL), PAD)
    for i, name in enumerate(EVENT_COLS):
        out[:, i] = np.asarray(b[name], dtype=np.float64)
    counts = b["lep_pt"][1]
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    for k in range(MAX_LEP):
        has = counts > k
        for j, name in enumerate(LEP_COLS):
            v = b[name][0][start[has] + k].astype(np.float64)
            out[has, len(EVENT_COLS) + k * len(LEP_COLS) + j] = v / 1000.0 if name in MEV_FIELDS else v
    return out


def step_leptons(data_dir, out, fmt):
    fmt, data, mc = find_samples(data_dir, fmt)
    read = READERS[fmt][0]
    for name, files in (("data_leptons.npy", data), ("mc_leptons.npy", mc)):
        rows = [lepton_rows(read(p, EVENT_COLS + LEP_COLS)) for p in files]
        arr = np.concatenate(rows) if rows else np.zeros((0, NCOL))
        np.save(os.path.join(out, "arrays", name), arr)
        print(f"arrays/{name}: {arr.shape}")


# ----------------------------------------------------------------- step 3

def lep(a, field):
    """(N, 5) matrix of one lepton field."""
    c = len(EVENT_COLS) + F[field]
    return a[:, c:c + MAX_LEP * len(LEP_COLS):len(LEP_COLS)]


def good_leptons(a):
    """(N, 5) bool: the lepton selection."""
    pt, typ = lep(a, "pt"), lep(a, "type")
    present = pt != PAD
    is_e = typ == 11
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):   # padded slots: any value
        ok = present & (lep(a, "isTightID") == 1)
        ok &= np.where(is_e, pt > PT_MIN[11], pt > PT_MIN[13])
        ok &= (lep(a, "ptcone30") / pt < PTCONE_REL) & (lep(a, "etcone20") / pt < ETCONE_REL)
        d0sig = np.abs(lep(a, "trackd0pvunbiased")) / lep(a, "tracksigd0pvunbiased")
        ok &= np.where(is_e, d0sig < D0SIG_MAX[11], d0sig < D0SIG_MAX[13])
        ok &= np.abs(lep(a, "z0") / np.cosh(lep(a, "eta"))) < Z0_SIN_MAX
    return ok & present


def four_vectors(a):
    """(N, 5, 4) E, px, py, pz in GeV."""
    pt, eta, phi = lep(a, "pt"), lep(a, "eta"), lep(a, "phi")
    with np.errstate(over="ignore", invalid="ignore"):          # padded slots: never used
        return np.stack([lep(a, "E"), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], -1)


def mass(p):
    return np.sqrt(np.maximum(p[..., 0]**2 - p[..., 1]**2 - p[..., 2]**2 - p[..., 3]**2, 0.0))


PAIRS = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]      # positions among the 4 good leptons


def quadruplets(a, is_data):
    """(M, 11) selected events of one step-2 array."""
    good = good_leptons(a)
    sel = ((a[:, 2] == 1) | (a[:, 3] == 1)) & (good.sum(1) == 4)
    rows = np.flatnonzero(sel)
    g = good[rows]
    slot = np.argsort(~g, axis=1, kind="stable")[:, :4]          # slots of the 4 good leptons, in order
    sub = a[rows]
    take = lambda m: np.take_along_axis(m, slot, 1)
    pt, typ, q = take(lep(sub, "pt")), take(lep(sub, "type")), take(lep(sub, "charge"))
    p4 = np.take_along_axis(four_vectors(sub), slot[:, :, None], 1)
    n = len(rows)
    best, best_d = np.full(n, -1), np.full(n, np.inf)
    sfos = lambda i, j: (typ[:, i] == typ[:, j]) & (q[:, i] == -q[:, j])
    for k, (i, j) in enumerate(PAIRS):
        c, d = [x for x in range(4) if x not in (i, j)]
        ok = sfos(i, j) & sfos(c, d)
        dist = np.abs(mass(p4[:, i] + p4[:, j]) - M_Z)
        better = ok & (dist < best_d)
        best[better], best_d[better] = k, dist[better]
    has = best >= 0
    bi = np.where(has, best, 0)
    z1 = np.array(PAIRS)[bi]
    z2 = np.array([[x for x in range(4) if x not in p] for p in PAIRS])[bi]
    pick = lambda m, idx: np.take_along_axis(m, idx, 1)
    p4z1 = np.take_along_axis(p4, z1[:, :, None], 1).sum(1)
    p4z2 = np.take_along_axis(p4, z2[:, :, None], 1).sum(1)
    m1, m2, m4 = mass(p4z1), mass(p4z2), mass(p4z1 + p4z2)
    spt = -np.sort(-pt, axis=1)
    ok = has & (spt[:, 0] > PT_LEAD[0]) & (spt[:, 1] > PT_LEAD[1]) & (spt[:, 2] > PT_LEAD[2])
    ok &= (m1 > MZ1_RANGE[0]) & (m1 < MZ1_RANGE[1]) & (m2 > MZ2_RANGE[0]) & (m2 < MZ2_RANGE[1])
    e1 = pick(typ, z1[:, :1])[:, 0] == 11
    e2 = pick(typ, z2[:, :1])[:, 0] == 11
    fs = 2 * e1 + e2
    if is_data:
        w = np.ones(n)
    else:
        w = sub[:, 4] * sub[:, 7] * sub[:, 8] * sub[:, 9] * sub[:, 10] * sub[:, 6] * LUMI_PB / sub[:, 5]
    out = np.stack([sub[:, 0], rows.astype(np.float64), m4, m1, m2, fs.astype(np.float64), w,
                    pick(slot, z1)[:, 0], pick(slot, z1)[:, 1], pick(slot, z2)[:, 0], pick(slot, z2)[:, 1]], 1)
    return out[ok].astype(np.float64)


def step_quadruplets(out):
    for src, dst, is_data in (("data_leptons.npy", "quads_data.npy", True),
                              ("mc_leptons.npy", "quads_mc.npy", False)):
        q = quadruplets(np.load(os.path.join(out, "arrays", src)), is_data)
        np.save(os.path.join(out, "arrays", dst), q)
        print(f"arrays/{dst}: {q.shape}, sum of weights {q[:, 6].sum():.3f}")


# ----------------------------------------------------------------- step 4

def in_range(m, r):
    return (m > r[0]) & (m < r[1])


def background(data, mc):
    """The ZZ* estimate of prompts/hzz_background.txt as a dict."""
    dsid, m, w = mc[:, 0], mc[:, 2], mc[:, 6]
    zz, sig = dsid == ZZ_DSID, np.isin(dsid, SIGNAL_DSIDS)
    other = ~zz
    cr_mc, sr_mc = in_range(m, CR), in_range(m, SR)
    n_data_cr = int(in_range(data[:, 2], CR).sum())
    zz_cr = float(w[zz & cr_mc].sum())
    other_cr = float(w[other & cr_mc].sum())
    mu = (n_data_cr - other_cr) / zz_cr
    zz_sr_mc = float(w[zz & sr_mc].sum())
    return {"signal_region_gev": list(SR), "control_region_gev": list(CR),
            "n_data_cr": n_data_cr, "zz_cr": zz_cr, "other_cr": other_cr, "mu_zz": mu,
            "zz_sr_mc": zz_sr_mc, "b_sr": mu * zz_sr_mc, "s_sr": float(w[sig & sr_mc].sum())}


def step_background(out):
    data = np.load(os.path.join(out, "arrays", "quads_data.npy"))
    mc = np.load(os.path.join(out, "arrays", "quads_mc.npy"))
    res = background(data, mc)
    with open(os.path.join(out, "background.json"), "w") as fh:
        json.dump(res, fh, indent=1)
        fh.write("\n")
    print(json.dumps(res))


# ----------------------------------------------------------------- step 5

def window_tool():
    spec = importlib.util.spec_from_file_location("hzz_window", os.path.join(HERE, "tools", "window.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def optimize(tool, data, step=0.25):
    """Best valid window on the grid LOW_MIN + k*step (exhaustive; cumulative sums).
    Returns (low, high, Z); the lowest low, then the lowest high, among equal Z."""
    lo_min, hi_max = tool.RANGE_GEV
    edges = np.round(np.arange(lo_min, hi_max + step / 2, step), 6)
    m_s, w_s, m_b, w_b, m_zz = data["m_s"], data["w_s"], data["m_b"], data["w_b"], data["m_zz"]
    # a window (edges[i], edges[j]) holds events with edges[i] < m < edges[j]; use cumulative
    # sums over intervals [e_k, e_k+1) plus exact handling of events at an edge
    def cum(m, w):
        idx = np.searchsorted(edges, m, side="left")          # edges[idx-1] < m <= edges[idx]
        on_edge = (idx < len(edges)) & (edges[np.minimum(idx, len(edges) - 1)] == m)
        c = np.concatenate([[0.0], np.cumsum(np.bincount(idx, weights=w, minlength=len(edges) + 1))])
        e = np.bincount(idx[on_edge], weights=w[on_edge], minlength=len(edges) + 1)
        return c, e
    S, Se = cum(m_s, w_s)
    B, Be = cum(m_b, w_b)
    N, Ne = cum(m_zz, np.ones_like(m_zz))
    i, j = np.meshgrid(np.arange(len(edges)), np.arange(len(edges)), indexing="ij")
    ok = edges[j] - edges[i] >= tool.MIN_WIDTH_GEV - 1e-9
    # events with edges[i] < m < edges[j]: bins i+1..j, minus those exactly at edges[j]
    tot = lambda C, E: C[j + 1] - C[i + 1] - E[j]
    s, b, nzz = tot(S, Se), tot(B, Be), tot(N, Ne)
    ok &= (nzz >= tool.MIN_ZZ_EVENTS) & (b > 0)
    z2 = np.where(ok, tool.z2(s, np.where(b > 0, b, 1.0)), -np.inf)
    k = int(np.argmax(z2))                  # first in (low, high) order among the maxima
    lo, hi = float(edges[i.flat[k]]), float(edges[j.flat[k]])
    return lo, hi, tool.evaluate(lo, hi, data)["z"]


def step_mass_window(out):
    tool = window_tool()
    data = tool.load(out)
    lo, hi, z = optimize(tool, data)
    res = tool.evaluate(lo, hi, data)
    with open(os.path.join(out, "window.json"), "w") as fh:
        json.dump({"low": lo, "high": hi, "z": res["z"]}, fh)
        fh.write("\n")
    print(f"window {lo}-{hi} GeV: s = {res['signal']:.3f}, b = {res['background']:.3f}, Z = {res['z']:.4f}")


# ----------------------------------------------------------------- main

STEPS = ["summarize", "leptons", "quadruplets", "background", "mass_window"]


def main(argv=None):
    ap = argparse.ArgumentParser(description="H->ZZ*->4l reference solution")
    ap.add_argument("--step", required=True, help="1-5 or a step name")
    ap.add_argument("--data", required=True, help="directory with Data/ and MC/")
    ap.add_argument("--out", required=True, help="workspace to write into")
    ap.add_argument("--format", default="auto", choices=["auto", "hdf5", "root"])
    a = ap.parse_args(argv)
    step = STEPS.index(a.step) + 1 if a.step in STEPS else int(a.step)
    for sub in ("arrays", "plots", "logs", "generated_code"):
        os.makedirs(os.path.join(a.out, sub), exist_ok=True)
    if step == 1:
        step_summarize(a.data, a.out, a.format)
    elif step == 2:
        step_leptons(a.data, a.out, a.format)
    elif step == 3:
        step_quadruplets(a.out)
    elif step == 4:
        step_background(a.out)
    elif step == 5:
        step_mass_window(a.out)
    else:
        ap.error(f"no step {a.step}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
