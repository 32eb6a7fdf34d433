#!/usr/bin/env python3
"""Reference solution of the H->gamma gamma suite, one step per call.

    soln.py --step N --data DATA_DIR --out WORKSPACE [--format auto|hdf5|root]

Writes exactly what the step prompts ask for, laid out as an agent's
workspace (WORKSPACE/arrays/..., WORKSPACE/summary.txt, ...). Steps 3-5 read
the outputs of earlier steps from WORKSPACE (the reference directory holds
them all). Inputs: DATA_DIR/Data/data_*.GamGam.{h5,root} and
DATA_DIR/MC/mc_*.GamGam.{h5,root}; HDF5 from gen/generate.py (flat vector
branches + counts) or the real ROOT files through uproot (Perlmutter). One
reader per format, one analysis. Reruns give identical bytes.

  1 summarize_root  summary.txt, summary.json
  2 create_numpy    arrays/data_raw.npy, arrays/signal_raw.npy      (N, 46)
  3 preprocess      arrays/signal.npy, arrays/bkgd.npy              (N, 46)
  4 scores          arrays/scores_signal.npy, arrays/scores_bkgd.npy  (N,)
  5 categorization  categories.json
"""
import argparse
import glob
import importlib.util
import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

PAD = -999.0                   # every column of a missing object
LUMI_PB = 10064.0
ETA_CRACK = (1.37, 1.52)
ETA_MAX = 2.37
MGG_RANGE = (105.0, 160.0)
BLIND = (120.0, 130.0)         # data in here is not used for the background
BKG_WEIGHT = 4.0 / 45.0        # 4 GeV window / 45 GeV of sidebands
TEST_EVERY = 4                 # rows with index % 4 == 0 are the test split
TRAIN_CAP = 50_000             # first training rows used per class
SEED = 42

# Step 2 column layout (units GeV for momenta, as stored for the rest).
SF_BRANCHES = ["scaleFactor_PILEUP", "scaleFactor_PHOTON", "scaleFactor_PhotonTRIGGER",
               "scaleFactor_ELE", "scaleFactor_MUON", "scaleFactor_LepTRIGGER",
               "scaleFactor_BTAG"]
COLUMNS = (["ph1_pt", "ph1_eta", "ph1_phi", "ph2_pt", "ph2_eta", "ph2_phi",
            "lep1_pt", "lep1_eta", "lep1_phi", "lep2_pt", "lep2_eta", "lep2_phi"]
           + [f"jet{j}_{v}" for j in range(1, 7) for v in ("pt", "eta", "phi")]
           + ["met_et", "met_phi", "mcWeight", "SumWeights", "XSection",
              "ph1_tight", "ph2_tight"] + SF_BRANCHES + ["m_gg", "pt_gg"])
assert len(COLUMNS) == 46
# Step 4 features: photon pT/m_gg, eta; pT_gg; two leptons and six jets (pT, eta); MET.
FEATURES = [0, 1, 3, 4, 45, 6, 7, 9, 10] + [c for j in range(6) for c in (12 + 3 * j, 13 + 3 * j)] + [30]
COUNTS = {"photon": "photon_n", "lep": "lep_n", "jet": "jet_n"}


# ----------------------------------------------------------------- readers

def find_samples(data_dir, fmt="auto"):
    """(format, data files, signal MC files), each list sorted by file name."""
    for ext, name in (("h5", "hdf5"), ("root", "root")):
        if fmt not in ("auto", name):
            continue
        data = sorted(glob.glob(os.path.join(data_dir, "Data", f"data_*.GamGam.{ext}")), key=os.path.basename)
        mc = sorted(glob.glob(os.path.join(data_dir, "MC", f"mc_*.GamGam.{ext}")), key=os.path.basename)
        if data or mc:
            return name, data, mc
    sys.exit(f"soln.py: no Data/data_*.GamGam.* or MC/mc_*.GamGam.* files under {data_dir}")


def read_hdf5(path, branches):
    """{branch: array} for scalars; {branch: (flat values, counts)} for vectors."""
    import h5py
    out = {}
    with h5py.File(path, "r") as f:
        t = f["mini"]
        for b in branches:
            d = t[b]
            if "counts" in d.attrs:
                out[b] = (d[...], t[d.attrs["counts"]][...].astype(np.int64))
            else:
                out[b] = d[...]
    return out


def read_root(path, branches):
    """Same contract as read_hdf5, through uproot (imported only here)."""
    import awkward as ak
    import uproot
    out = {}
    with uproot.open(path) as f:
        arrays = f["mini"].arrays(branches, library="ak")
        for b in branches:
            a = arrays[b]
            if a.ndim > 1:
                out[b] = (ak.to_numpy(ak.flatten(a)), ak.to_numpy(ak.num(a)).astype(np.int64))
            else:
                out[b] = ak.to_numpy(a)
    return out


def tree_info_hdf5(path):
    """{tree: {"entries": n, "branches": {name: (type, count branch or None)}}}."""
    import h5py
    trees = {}
    with h5py.File(path, "r") as f:
        for tname in sorted(f):
            t = f[tname]
            if not isinstance(t, h5py.Group):
                continue
            br = {}
            for name in t:           # h5py lists names alphabetically; keep that order
                d = t[name]
                typ = d.dtype.name if d.dtype != bool else "bool"
                counts = d.attrs.get("counts")
                if isinstance(counts, bytes):
                    counts = counts.decode()
                br[name] = (f"vector<{typ}>", str(counts)) if counts is not None else (typ, None)
            entries = int(t.attrs["entries"]) if "entries" in t.attrs else None
            trees[tname] = {"entries": entries, "branches": br}
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
                           "branches": {b: (t[b].typename, None) for b in sorted(t.keys())}}
    return trees


READERS = {"hdf5": (read_hdf5, tree_info_hdf5), "root": (read_root, tree_info_root)}


# ----------------------------------------------------------------- step 1

def step_summary(data_dir, out, fmt):
    """summary.txt for people and summary.json (schema in prompts/summarize_root.txt)."""
    fmt, data, mc = find_samples(data_dir, fmt)
    info = READERS[fmt][1]
    files = []
    for path in data + mc:
        files.append({"path": os.path.relpath(path, data_dir), "trees": info(path)})
    lines = [f"Input files: {len(data)} data, {len(mc)} signal MC ({fmt})", ""]
    for f in files:
        lines.append(f["path"])
        for tname, t in f["trees"].items():
            lines.append(f"  tree {tname}: {t['entries']} entries, {len(t['branches'])} branches")
            for b, (typ, counts) in t["branches"].items():
                lines.append(f"    {b:28s} {typ}" + (f" (counts in {counts})" if counts else ""))
        lines.append("")
    totals = {}
    for key, label, group in (("data", "data", data), ("signal_mc", "signal MC", mc)):
        totals[key] = sum(f["trees"]["mini"]["entries"] for f in files
                          if os.path.join(data_dir, f["path"]) in group)
        lines.append(f"Total {label} entries: {totals[key]}")
    with open(os.path.join(out, "summary.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    doc = {"files": [{"path": f["path"], "trees": [
        {"name": tname, "entries": t["entries"], "branches": [
            dict({"name": b, "type": typ}, **({"counts": counts} if counts else {}))
            for b, (typ, counts) in t["branches"].items()]}
        for tname, t in f["trees"].items()]} for f in files], "totals": totals}
    with open(os.path.join(out, "summary.json"), "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    print(f"data entries: {totals['data']}, signal MC entries: {totals['signal_mc']}")


# ----------------------------------------------------------------- step 2

def nth(jagged, k):
    """k-th value of every event (PAD where the event has fewer)."""
    values, counts = jagged
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > k
    out = np.full(len(counts), PAD)
    out[has] = values[start[has] + k]
    return out


def raw_rows(b):
    """(N, 46) rows of one sample from its branches."""
    n = len(b["met_et"])
    cols = []
    for obj, nobj in (("photon", 2), ("lep", 2), ("jet", 6)):
        for k in range(nobj):
            pt = nth(b[f"{obj}_pt"], k)
            cols += [np.where(pt != PAD, pt / 1000.0, PAD), nth(b[f"{obj}_eta"], k), nth(b[f"{obj}_phi"], k)]
    cols += [b["met_et"] / 1000.0, b["met_phi"], b["mcWeight"], b["SumWeights"], b["XSection"]]
    cols += [nth((b["photon_isTightID"][0].astype(np.float64), b["photon_isTightID"][1]), k) for k in (0, 1)]
    cols += [b[s] for s in SF_BRANCHES]
    cols += [np.full(n, np.nan), np.full(n, np.nan)]
    return np.stack([np.asarray(c, dtype=np.float64) for c in cols], axis=1)


STEP2_BRANCHES = ([f"{o}_{v}" for o in ("photon", "lep", "jet") for v in ("pt", "eta", "phi")]
                  + ["photon_isTightID", "met_et", "met_phi", "mcWeight", "SumWeights", "XSection"]
                  + SF_BRANCHES)


def step_create_numpy(data_dir, out, fmt):
    fmt, data, mc = find_samples(data_dir, fmt)
    read = READERS[fmt][0]
    for name, files in (("data_raw.npy", data), ("signal_raw.npy", mc)):
        rows = [raw_rows(read(p, STEP2_BRANCHES)) for p in files]
        arr = np.concatenate(rows) if rows else np.zeros((0, 46))
        np.save(os.path.join(out, "arrays", name), arr)
        print(f"arrays/{name}: {arr.shape}")


# ----------------------------------------------------------------- step 3

def diphoton(a):
    """(m_gg, pT_gg) in GeV from columns 0-5 (massless photons)."""
    pt1, eta1, phi1, pt2, eta2, phi2 = (a[:, i] for i in range(6))
    dphi = phi1 - phi2
    with np.errstate(invalid="ignore", over="ignore"):   # padded photons: any value, never selected
        m = np.sqrt(2 * pt1 * pt2 * (np.cosh(eta1 - eta2) - np.cos(dphi)))
        pt = np.sqrt(pt1**2 + pt2**2 + 2 * pt1 * pt2 * np.cos(dphi))
    return m, pt


def selected(a):
    """Photon selection and 105 < m_gg < 160 GeV; needs columns 44-45 filled."""
    m = a[:, 44]
    ok = (a[:, 35] == 1) & (a[:, 36] == 1)
    for pt, eta in ((a[:, 0], a[:, 1]), (a[:, 3], a[:, 4])):
        ae = np.abs(eta)
        ok &= (pt > 25) & ((ae < ETA_CRACK[0]) | ((ae > ETA_CRACK[1]) & (ae < ETA_MAX)))
    with np.errstate(divide="ignore", invalid="ignore"):
        ok &= (m > 0) & (a[:, 0] / m > 0.35) & (a[:, 3] / m > 0.25)
    ok &= (m > MGG_RANGE[0]) & (m < MGG_RANGE[1])
    return ok


def step_preprocess(out):
    arr = lambda n: np.load(os.path.join(out, "arrays", n))
    results = {}
    for name, raw in (("signal.npy", arr("signal_raw.npy")), ("bkgd.npy", arr("data_raw.npy"))):
        a = raw.copy()
        a[:, 44], a[:, 45] = diphoton(a)
        a = a[selected(a)]
        if name == "signal.npy":
            # w = mcWeight x SF_PILEUP x SF_PHOTON x SF_PhotonTRIGGER x XSection x L / SumWeights
            a[:, 32] = a[:, 32] * a[:, 37] * a[:, 38] * a[:, 39] * a[:, 34] * LUMI_PB / a[:, 33]
        else:
            m = a[:, 44]
            a = a[(m < BLIND[0]) | (m > BLIND[1])]
            a[:, 32] = BKG_WEIGHT
        np.save(os.path.join(out, "arrays", name), a)
        results[name] = a
        print(f"arrays/{name}: {a.shape}, sum of weights {a[:, 32].sum():.2f}")
    return results


# ----------------------------------------------------------------- step 4

def features(a):
    """Classifier inputs (no m_gg itself: the background is sideband data)."""
    x = a[:, FEATURES].copy()
    x[:, 0] = a[:, 0] / a[:, 44]
    x[:, 2] = a[:, 3] / a[:, 44]
    return x


def train_rows(n):
    rows = np.arange(n)
    return rows[rows % TEST_EVERY != 0][:TRAIN_CAP]


def classifier():
    from sklearn.ensemble import HistGradientBoostingClassifier
    return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, max_leaf_nodes=31,
                                          early_stopping=False, random_state=SEED)


def step_scores(out):
    sig = np.load(os.path.join(out, "arrays", "signal.npy"))
    bkg = np.load(os.path.join(out, "arrays", "bkgd.npy"))
    ts, tb = train_rows(len(sig)), train_rows(len(bkg))
    x = np.concatenate([features(sig)[ts], features(bkg)[tb]])
    y = np.concatenate([np.ones(len(ts)), np.zeros(len(tb))])
    from threadpoolctl import threadpool_limits
    clf = classifier()           # imports sklearn (and its OpenMP runtime) before limiting it
    with threadpool_limits(1):   # OpenMP sums depend on the thread count: keep bytes node-independent
        clf.fit(x, y)
        for name, a in (("scores_signal.npy", sig), ("scores_bkgd.npy", bkg)):
            s = clf.predict_proba(features(a))[:, 1].astype(np.float64)
            np.save(os.path.join(out, "arrays", name), s)
            print(f"arrays/{name}: {s.shape}")


# ----------------------------------------------------------------- step 5

def optimize(sig, data, max_boundaries=None, min_bkg_events=None, step=0.001):
    """With the tool's definitions (sig: tools/significance.py), the best boundaries on the grid step, 2*step, ..., 1-step (exact dynamic
    programming: Z^2 adds over categories). Returns (boundaries, Z)."""
    max_boundaries = sig.MAX_BOUNDARIES if max_boundaries is None else max_boundaries
    min_bkg_events = sig.MIN_BKG_EVENTS if min_bkg_events is None else min_bkg_events
    z2 = sig.z2
    s_sc, s_w, b_sc, b_w = data
    grid = np.round(np.arange(1, int(round(1 / step))) * step, 10)
    nbins = len(grid) + 1                       # bin m = [grid[m-1], grid[m])
    cum = lambda idx, w: np.concatenate([[0.0], np.cumsum(np.bincount(idx, weights=w, minlength=nbins))])
    ib, isg = np.searchsorted(grid, b_sc, side="right"), np.searchsorted(grid, s_sc, side="right")
    S, B, N = cum(isg, s_w), cum(ib, b_w), cum(ib, np.ones_like(b_w))
    NEG = -np.inf

    def z2_range(i, j):                          # categories covering bins i..j-1
        n = N[j] - N[i]
        b = B[j] - B[i]
        val = z2(S[j] - S[i], np.where(b > 0, b, 1.0))
        return np.where((n >= min_bkg_events) & (b > 0), val, NEG)

    ends = np.arange(nbins + 1)
    best = [z2_range(np.zeros_like(ends), ends)]  # one category: bins 0..j-1
    best[0][0] = NEG
    back = [np.zeros(nbins + 1, int)]
    for c in range(1, max_boundaries + 1):
        prev, cur, arg = best[-1], np.full(nbins + 1, NEG), np.zeros(nbins + 1, int)
        for j in range(2, nbins + 1):
            i = np.arange(1, j)
            tot = prev[i] + z2_range(i, j)
            k = int(np.argmax(tot))
            cur[j], arg[j] = tot[k], i[k]
        best.append(cur)
        back.append(arg)
    finals = [b[nbins] for b in best]
    c = int(np.argmax(finals))                   # first (fewest categories) of the maxima
    if not np.isfinite(finals[c]):
        return [], None
    cuts, j = [], nbins
    for level in range(c, 0, -1):
        j = back[level][j]
        cuts.append(float(grid[j - 1]))
    cuts.reverse()
    return cuts, math.sqrt(finals[c])


def significance_module():
    spec = importlib.util.spec_from_file_location("hgg_significance", os.path.join(HERE, "tools", "significance.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def step_categorization(out):
    sig = significance_module()
    data = sig.load(out)
    bnd, z = optimize(sig, data)
    res = sig.evaluate(bnd, data)
    single = sig.evaluate([], data)["z"]
    with open(os.path.join(out, "categories.json"), "w") as fh:
        json.dump({"boundaries": bnd, "z": res["z"]}, fh)
        fh.write("\n")
    print(f"boundaries {bnd}: Z = {res['z']:.4f} (one category: {single:.4f})")


# ----------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description="H->gamma gamma reference solution")
    ap.add_argument("--step", required=True, help="1-5 or a step name")
    ap.add_argument("--data", required=True, help="directory with Data/ and MC/")
    ap.add_argument("--out", required=True, help="workspace to write into")
    ap.add_argument("--format", default="auto", choices=["auto", "hdf5", "root"])
    a = ap.parse_args(argv)
    names = ["summarize_root", "create_numpy", "preprocess", "scores", "categorization"]
    step = names.index(a.step) + 1 if a.step in names else int(a.step)
    for sub in ("arrays", "plots", "logs", "generated_code"):
        os.makedirs(os.path.join(a.out, sub), exist_ok=True)
    if step == 1:
        step_summary(a.data, a.out, a.format)
    elif step == 2:
        step_create_numpy(a.data, a.out, a.format)
    elif step == 3:
        step_preprocess(a.out)
    elif step == 4:
        step_scores(a.out)
    elif step == 5:
        step_categorization(a.out)
    else:
        ap.error(f"no step {a.step}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
