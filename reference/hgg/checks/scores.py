#!/usr/bin/env python3
"""Hidden check of step 4 (scores): judges what step 5 consumes, the score of
every row.

    scores.py WORKSPACE REFERENCE_DIR [TOOL]

Reads WORKSPACE/arrays/scores_{signal,bkgd}.npy, the reference's scores and
preprocessed arrays, and (for z_ratio) the evaluate_boundaries tool from TOOL
(default ../tools/significance.py; the suite passes the path so the sandbox
shows it). Prints one JSON object:

  valid            1 when both files hold one finite score in [0, 1] per row
                   of the reference signal.npy / bkgd.npy, else 0.
                   Proves: the shapes step 5 indexes by row. Cannot: meaning.
  auc_delta        ROC AUC on the test rows (index % 4 == 0 of each array)
                   minus the reference's. Proves: a classifier as good as the
                   prescribed one on unseen rows (too low: worse or inverted
                   scores; too high: trained on the test rows). Cannot: that
                   the prescribed classifier was used.
  auc_train_delta  ROC AUC on the other (training) rows minus the reference's
                   test AUC. Proves: the training rows carry real scores too
                   (constant, random or missing scores there fall to ~0.5).
  ks_excess        Largest, over signal and bkgd, Kolmogorov-Smirnov distance
                   between the scores of the test rows and of the other rows,
                   minus the same for the reference (which overfits a little).
                   Proves: the non-test rows are scored by the same function
                   as the test rows (a second model, a fill value or a
                   shifted copy show up as a different distribution).
                   Cannot: catch a subtle per-row change that keeps the shape.
  tie_share        Largest share of one array's rows sharing a single score.
                   Proves: no constant fill. Cannot: a fill with noise.
  rank_corr        Spearman correlation, over all rows of both arrays, between
                   the candidate's and the reference's scores. Proves: each
                   row's score belongs to that row (scores shuffled within a
                   class or shifted by a row keep both distributions and the
                   AUC almost unchanged, but fall to ~0.25 here). Cannot: tell
                   two good classifiers apart (other settings reach >= 0.95).
  z_ratio          Optimum Z of step 5 (the solution's optimize with the tool's definitions: <= 4 boundaries,
                   >= 10 bkgd events each) with the candidate scores divided
                   by the same with the reference scores. Proves: the scores
                   are as useful to step 5 as the reference's (>= 0.85) and
                   no more useful than a classifier of these features can be
                   (<= 1.3): scores that carry the mass (m_gammagamma as a
                   feature) or another row's signal weight (shuffled rows)
                   inflate step 5's Z 3-9 times. Cannot: tell a lucky
                   classifier from a careful one.
Exit 0 when it judged (pass or fail; `problems` explains), 2 bad usage, 3
when the reference or the tool is unreadable.
"""
import importlib.util
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TEST_EVERY = 4


def auc(pos, neg):
    """Mann-Whitney ROC AUC with tied scores counted half (0.5 when a side is empty)."""
    if len(pos) == 0 or len(neg) == 0:
        return 0.5
    x = np.concatenate([pos, neg])
    _, inv, cnt = np.unique(x, return_inverse=True, return_counts=True)
    rank = (np.cumsum(cnt) - (cnt - 1) / 2.0)[inv]
    n1, n0 = len(pos), len(neg)
    return float((rank[:n1].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def is_test(a):
    return np.arange(len(a)) % TEST_EVERY == 0


def ks(a, b):
    """Two-sample Kolmogorov-Smirnov distance (0 when a side is empty)."""
    if len(a) == 0 or len(b) == 0:
        return 0.0
    x = np.sort(np.concatenate([a, b]))
    fa = np.searchsorted(np.sort(a), x, side="right") / len(a)
    fb = np.searchsorted(np.sort(b), x, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


def ranks(x):
    """Ranks with ties averaged (1-based)."""
    _, inv, cnt = np.unique(x, return_inverse=True, return_counts=True)
    return (np.cumsum(cnt) - (cnt - 1) / 2.0)[inv]


def rank_corr(a, b):
    """Spearman correlation of two equally long arrays (0 when one is constant)."""
    ra, rb = ranks(a), ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def tie_share(a):
    if len(a) == 0:
        return 0.0
    return float(np.unique(a, return_counts=True)[1].max() / len(a))


def split_stats(sig, bkg):
    """(test AUC, training-rows AUC, largest test-vs-other KS over the two classes)."""
    ts, tb = is_test(sig), is_test(bkg)
    return (auc(sig[ts], bkg[tb]), auc(sig[~ts], bkg[~tb]),
            max(ks(sig[ts], sig[~ts]), ks(bkg[tb], bkg[~tb])))


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def optimum_z(soln, sig_tool, data, s_sc, b_sc):
    """Step 5's optimum Z with these scores (0 when no valid categorisation):
    the reference solution's optimiser with the tool's definitions (the tool
    itself holds only what the model may use)."""
    _, s_w, _, b_w = data
    _, z = soln.optimize(sig_tool, (s_sc, s_w, b_sc, b_w))
    return z or 0.0


def load_candidate(path, want_shape, problems):
    name = os.path.relpath(path, os.path.dirname(os.path.dirname(path)))
    try:
        c = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        problems.append(f"{name}: {e}")
        return None
    if c.dtype.kind not in "fiu":
        problems.append(f"{name}: dtype {c.dtype} is not a number type")
        return None
    c = c.astype(np.float64)
    if c.ndim == 2 and c.shape[1] == 1:
        c = c[:, 0]
    if c.shape != want_shape:
        problems.append(f"{name}: shape {c.shape}, expected {want_shape} (one score per row)")
    elif not np.all(np.isfinite(c)):
        problems.append(f"{name}: {int(np.sum(~np.isfinite(c)))} scores are not finite")
    elif len(c) and (c.min() < 0 or c.max() > 1):
        problems.append(f"{name}: scores outside [0, 1] ({c.min()} .. {c.max()})")
    else:
        return c
    return None


def main(argv):
    if len(argv) not in (3, 4, 5):
        print(json.dumps({"error": "usage: scores.py WORKSPACE REFERENCE_DIR [TOOL [SOLUTION]]"}))
        return 2
    ws, ref = argv[1], argv[2]
    tool_path = argv[3] if len(argv) >= 4 else os.path.join(HERE, "..", "tools", "significance.py")
    soln_path = argv[4] if len(argv) == 5 else os.path.join(HERE, "..", "soln.py")
    try:
        sig_tool = load_module("hgg_significance", tool_path)
        soln = load_module("hgg_soln", soln_path)
        data = sig_tool.load(ref)
        r_sig, _, r_bkg, _ = data
    except (OSError, ValueError, IndexError) as e:
        print(json.dumps({"error": f"reference or tool unreadable: {e}"}))
        return 3
    ref_auc, ref_train_auc, ref_ks = split_stats(r_sig, r_bkg)
    out = {"valid": 0, "auc": 0.0, "ref_auc": ref_auc, "auc_delta": -1.0, "auc_train": 0.0,
           "auc_train_delta": -1.0, "ks": 1.0, "ref_ks": ref_ks, "ks_excess": 1.0,
           "tie_share": 1.0, "rank_corr": 0.0, "z_opt": 0.0, "z_opt_ref": 0.0, "z_ratio": 0.0}
    problems = []
    c_sig = load_candidate(os.path.join(ws, "arrays", "scores_signal.npy"), r_sig.shape, problems)
    c_bkg = load_candidate(os.path.join(ws, "arrays", "scores_bkgd.npy"), r_bkg.shape, problems)
    if c_sig is not None and c_bkg is not None:
        a, a_train, k = split_stats(c_sig, c_bkg)
        z_ref = optimum_z(soln, sig_tool, data, r_sig, r_bkg)
        z = optimum_z(soln, sig_tool, data, c_sig, c_bkg)
        out.update(valid=1, auc=a, auc_delta=a - ref_auc, auc_train=a_train,
                   auc_train_delta=a_train - ref_auc, ks=k, ks_excess=k - ref_ks,
                   tie_share=max(tie_share(c_sig), tie_share(c_bkg)),
                   rank_corr=rank_corr(np.concatenate([c_sig, c_bkg]), np.concatenate([r_sig, r_bkg])),
                   z_opt=z, z_opt_ref=z_ref, z_ratio=z / z_ref if z_ref else 0.0)
    if problems:
        out["problems"] = problems
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
