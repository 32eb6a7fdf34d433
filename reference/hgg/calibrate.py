#!/usr/bin/env python3
"""Calibration of the H->gamma gamma suite's numeric thresholds: for each one,
what passes and what fails, computed on the reference outputs.

    calibrate.py REFERENCE_DIR [--quick]

REFERENCE_DIR is a built reference (`llm4hep reference suite.yml`). Prints
Markdown tables (pasted into README.md "Calibration"):
  1. step 5 z_ratio (>= 0.95 of the reference optimum) for no boundary, equal
     widths, hand-picked, best 1/2/3 cuts, coarse grids, wrong objectives;
  2. step 5 z_claim_rel_diff (<= 0.01): claimed Z written in other ways;
  3. step 4 auc_delta (|.| <= 0.02), auc_train_delta (>= -0.02), ks_excess
     (<= 0.1), tie_share (<= 0.05), rank_corr (>= 0.7), z_ratio (0.85-1.3) for right and wrong
     classifiers (--quick skips the retraining ones);
  4. the array check's 4 significant digits for step 3 outputs computed in
     other ways (right) and with small mistakes (wrong).
Deterministic; all paths from argv; helpers loaded by explicit path.
"""
import argparse
import importlib.util
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


sig_tool = load_module("hgg_significance", os.path.join(HERE, "tools", "significance.py"))
scores_check = load_module("hgg_scores_check", os.path.join(HERE, "checks", "scores.py"))
arrays_check = load_module("hgg_compare_arrays", os.path.join(HERE, "checks", "compare_arrays.py"))
soln = load_module("hgg_soln", os.path.join(HERE, "soln.py"))

THRESH = {"z_ratio": 0.95, "z_claim": 0.01, "auc": 0.02, "auc_train": -0.02, "ks": 0.1, "tie": 0.05,
          "rank": 0.7, "z4max": 1.3,
          "z4": 0.85, "sig_digits": 4}


def verdict(ok):
    return "pass" if ok else "FAIL"


def best_k(data, k, step=0.001, **kw):
    b, _ = soln.optimize(sig_tool, data, max_boundaries=k, step=step, **kw)
    return b


def table_step5(ref):
    data = sig_tool.load(ref)
    s_sc, s_w, b_sc, b_w = data
    ev = lambda b: sig_tool.evaluate(b, data)["z"] or 0.0
    z_opt = ev(best_k(data, 4))
    sig = np.load(os.path.join(ref, "arrays", "signal.npy"))
    unweighted = (s_sc, (s_w > 0).astype(float), b_sc, np.ones_like(b_w))
    all_signal = (s_sc, sig[:, 32], b_sc, b_w)
    rows = [("no boundary (one category)", []),
            ("equal widths [0.2, 0.4, 0.6, 0.8]", [0.2, 0.4, 0.6, 0.8]),
            ("hand-picked [0.3, 0.6, 0.9]", [0.3, 0.6, 0.9]),
            ("hand-picked [0.5, 0.8, 0.95]", [0.5, 0.8, 0.95]),
            ("best single cut", best_k(data, 1)),
            ("best two cuts", best_k(data, 2)),
            ("best three cuts", best_k(data, 3)),
            ("optimum on a 0.05 grid", best_k(data, 4, step=0.05)),
            ("optimum on a 0.01 grid", best_k(data, 4, step=0.01)),
            ("optimum ignoring weights (counts)", best_k(unweighted, 4)),
            ("optimum with all signal (no 123-127 window)", best_k(all_signal, 4)),
            ("optimum (reference)", best_k(data, 4))]
    print("### Step 5: z_ratio = Z / Z_optimum, pass at >= %.2f (Z_optimum = %.3f)\n" % (THRESH["z_ratio"], z_opt))
    print("| boundaries | Z | z_ratio | verdict |\n|---|---|---|---|")
    for name, b in rows:
        z = ev(b)
        print(f"| {name} {[round(x, 3) for x in b]} | {z:.3f} | {z / z_opt:.3f} | {verdict(z / z_opt >= THRESH['z_ratio'])} |")
    # claimed Z
    b = best_k(data, 4)
    res = sig_tool.evaluate(b, data)
    z = res["z"]
    cats = res["categories"]
    s = np.array([c["signal"] for c in cats])
    bb = np.array([c["background"] for c in cats])
    claims = [("exact (tool)", z), ("rounded to 2 decimals", round(z, 2)),
              ("computed in float32", float(np.sqrt(np.sum(sig_tool.z2(s.astype(np.float32), bb.astype(np.float32)))))),
              ("sum of per-category Z", float(sum(c["z"] for c in cats))),
              ("quadrature sum of s/sqrt(b)", float(np.sqrt(np.sum(s**2 / bb)))),
              ("largest single category Z", float(max(c["z"] for c in cats)))]
    print("\n### Step 5: z_claim_rel_diff = |claimed Z - Z| / Z, pass at <= %.2f\n" % THRESH["z_claim"])
    print("| claimed Z | value | rel. diff | verdict |\n|---|---|---|---|")
    for name, c in claims:
        d = abs(c - z) / z
        print(f"| {name} | {c:.4f} | {d:.2g} | {verdict(d <= THRESH['z_claim'])} |")


def train(sig, bkg, rows_s, rows_b, feats=None, **kw):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits
    feats = feats or soln.features
    p = dict(max_iter=200, learning_rate=0.1, max_leaf_nodes=31, early_stopping=False, random_state=42)
    p.update(kw)
    clf = HistGradientBoostingClassifier(**p)
    x = np.concatenate([feats(sig)[rows_s], feats(bkg)[rows_b]])
    y = np.r_[np.ones(len(rows_s)), np.zeros(len(rows_b))]
    with threadpool_limits(1):
        clf.fit(x, y)
        return clf.predict_proba(feats(sig))[:, 1], clf.predict_proba(feats(bkg))[:, 1]


def table_step4(ref, quick):
    data = sig_tool.load(ref)
    r_s, s_w, r_b, b_w = data
    sig = np.load(os.path.join(ref, "arrays", "signal.npy"))
    bkg = np.load(os.path.join(ref, "arrays", "bkgd.npy"))
    ref_auc, _, ref_ks = scores_check.split_stats(r_s, r_b)
    z_ref = scores_check.optimum_z(sig_tool, data, r_s, r_b)
    ts, tb = scores_check.is_test(r_s), scores_check.is_test(r_b)
    tr = lambda mask: np.flatnonzero(~mask)[:50000]
    rows = [("reference", "right", r_s, r_b),
            ("test rows only, others 0", "wrong", np.where(ts, r_s, 0.0), np.where(tb, r_b, 0.0)),
            ("test rows only, others 0.5", "wrong", np.where(ts, r_s, 0.5), np.where(tb, r_b, 0.5)),
            ("inverted (1 - p)", "wrong", 1 - r_s, 1 - r_b),
            ("labels 0/1", "wrong", (r_s > 0.5).astype(float), (r_b > 0.5).astype(float)),
            ("rows shuffled within each array", "wrong",
             r_s[np.random.default_rng(3).permutation(len(r_s))], r_b[np.random.default_rng(4).permutation(len(r_b))]),
            ("rows shifted by one", "wrong", np.roll(r_s, 1), np.roll(r_b, 1))]
    if not quick:
        rows += [("random_state 7", "right", *train(sig, bkg, tr(ts), tr(tb), random_state=7)),
                 ("63 leaves, rate 0.05, 300 iterations", "right",
                  *train(sig, bkg, tr(ts), tr(tb), max_leaf_nodes=63, learning_rate=0.05, max_iter=300)),
                 ("no 50000-row cap", "right", *train(sig, bkg, np.flatnonzero(~ts), np.flatnonzero(~tb))),
                 ("100 iterations", "right", *train(sig, bkg, tr(ts), tr(tb), max_iter=100)),
                 ("trained on all rows (leakage)", "wrong",
                  *train(sig, bkg, np.arange(len(sig)), np.arange(len(bkg))[:66000])),
                 ("m_gammagamma as a feature", "wrong",
                  *train(sig, bkg, tr(ts), tr(tb), feats=lambda a: np.column_stack([soln.features(a), a[:, 44]]))),
                 ("photons only (no jets, leptons, MET)", "wrong",
                  *train(sig, bkg, tr(ts), tr(tb), feats=lambda a: soln.features(a)[:, :5]))]
    print("\n### Step 4: margins (reference test AUC %.4f, split KS %.4f, optimum Z %.3f)\n" % (ref_auc, ref_ks, z_ref))
    print("pass: |auc_delta| <= %.2f, auc_train_delta >= %.2f, ks_excess <= %.2f, tie_share <= %.2f, "
          "rank_corr >= %.2f, %.2f <= z_ratio <= %.2f\n"
          % (THRESH["auc"], THRESH["auc_train"], THRESH["ks"], THRESH["tie"], THRESH["rank"], THRESH["z4"],
             THRESH["z4max"]))
    print("| scores | kind | auc_delta | auc_train_delta | ks_excess | tie_share | rank_corr | z_ratio | verdict |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, kind, s, b in rows:
        a, at, k = scores_check.split_stats(s, b)
        tie = max(scores_check.tie_share(s), scores_check.tie_share(b))
        zr = scores_check.optimum_z(sig_tool, data, s, b) / z_ref
        rc = scores_check.rank_corr(np.r_[s, b], np.r_[r_s, r_b])
        ok = (abs(a - ref_auc) <= THRESH["auc"] and at - ref_auc >= THRESH["auc_train"]
              and k - ref_ks <= THRESH["ks"] and tie <= THRESH["tie"] and rc >= THRESH["rank"]
              and THRESH["z4"] <= zr <= THRESH["z4max"])
        print(f"| {name} | {kind} | {a - ref_auc:+.4f} | {at - ref_auc:+.4f} | {k - ref_ks:+.3f} | {tie:.4f} "
              f"| {rc:.3f} | {zr:.3f} | {verdict(ok)} |")


def table_arrays(ref):
    raw_s = np.load(os.path.join(ref, "arrays", "signal_raw.npy"))
    want = np.load(os.path.join(ref, "arrays", "signal.npy"))

    def weights(a, lumi=soln.LUMI_PB, sf=(37, 38, 39), dtype=np.float64):
        a = a.astype(dtype)
        w = a[:, 32] * np.prod(a[:, list(sf)], axis=1) * a[:, 34] * dtype(lumi) / a[:, 33]
        return w.astype(np.float64)

    sel = soln.selected(np.column_stack([raw_s[:, :44], *soln.diphoton(raw_s)]))
    a = raw_s[sel]
    m, pt = soln.diphoton(a)
    cases = [("reference weight (float64)", "right", weights(a)),
             ("weight product in another order", "right", (a[:, 34] / a[:, 33]) * soln.LUMI_PB * a[:, 39] * a[:, 38] * a[:, 37] * a[:, 32]),
             ("weight computed in float32", "right", weights(a, dtype=np.float32)),
             ("L = 10000 pb^-1 instead of 10064", "wrong", weights(a, lumi=10000.0)),
             ("photon trigger SF left out (~0.995)", "wrong", weights(a, sf=(37, 38))),
             ("all seven scale factors", "wrong", weights(a, sf=tuple(range(37, 44))))]
    print("\n### Arrays: %d significant digits (|c - r| <= 0.5e-3 relative to r's leading digit), step 3 signal weights\n" % THRESH["sig_digits"])
    print("| column 32 computed as | kind | max rel. diff | values off | verdict |\n|---|---|---|---|---|")
    for name, kind, w in cases:
        ok = arrays_check.matches(w, want[:, 32], THRESH["sig_digits"], 1e-6)
        rel = float(np.max(np.abs(w - want[:, 32]) / np.abs(want[:, 32])))
        print(f"| {name} | {kind} | {rel:.1e} | {int((~ok).sum())} of {len(ok)} | {verdict(ok.all())} |")
    mm = [("m_gg from the formula (float64)", "right", m),
          ("m_gg with dphi wrapped to (-pi, pi]", "right", np.sqrt(2 * a[:, 0] * a[:, 3] * (np.cosh(a[:, 1] - a[:, 4]) - np.cos((a[:, 2] - a[:, 5] + np.pi) % (2 * np.pi) - np.pi)))),
          ("m_gg computed in float32", "right", soln.diphoton(a.astype(np.float32))[0].astype(np.float64)),
          ("m_gg with the leading photon's pT 0.1 % high", "wrong", soln.diphoton(a * np.r_[1.001, np.ones(45)])[0]),
          ("m_gg with eta1 + eta2 instead of eta1 - eta2", "wrong", np.sqrt(2 * a[:, 0] * a[:, 3] * (np.cosh(a[:, 1] + a[:, 4]) - np.cos(a[:, 2] - a[:, 5]))))]
    print("\n| column 44 computed as | kind | max rel. diff | values off | verdict |\n|---|---|---|---|---|")
    for name, kind, x in mm:
        ok = arrays_check.matches(x, want[:, 44], THRESH["sig_digits"], 1e-6)
        rel = float(np.max(np.abs(x - want[:, 44]) / np.abs(want[:, 44])))
        print(f"| {name} | {kind} | {rel:.1e} | {int((~ok).sum())} of {len(ok)} | {verdict(ok.all())} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reference_dir")
    ap.add_argument("--quick", action="store_true", help="skip the tables that retrain classifiers")
    a = ap.parse_args(argv)
    table_step5(a.reference_dir)
    table_step4(a.reference_dir, a.quick)
    table_arrays(a.reference_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
