#!/usr/bin/env python3
"""Hidden check of step 4 (scores).

    scores.py WORKSPACE REFERENCE_DIR

Reads WORKSPACE/arrays/scores_{signal,bkgd}.npy and the reference's
scores and prints one JSON object:
  valid      1 when both files exist with one finite score in [0, 1] per
             row of the reference signal.npy / bkgd.npy, else 0
  auc        ROC AUC of the candidate scores on the test split (rows with
             index % 4 == 0 of each array), labels signal 1 / bkgd 0
  ref_auc    the same for the reference scores
  auc_delta  auc - ref_auc (-1 when not valid)
The suite passes |auc_delta| <= 0.02: a worse classifier fails below, one
trained on the test rows fails above. Exit 0 when it judged, 3 when the
reference is unreadable.
"""
import json
import os
import sys

import numpy as np

TEST_EVERY = 4


def auc(pos, neg):
    """Mann-Whitney ROC AUC with tied scores counted half."""
    x = np.concatenate([pos, neg])
    _, inv, cnt = np.unique(x, return_inverse=True, return_counts=True)
    rank = (np.cumsum(cnt) - (cnt - 1) / 2.0)[inv]
    n1, n0 = len(pos), len(neg)
    return float((rank[:n1].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def test_rows(a):
    return a[np.arange(len(a)) % TEST_EVERY == 0]


def main(argv):
    if len(argv) != 3:
        print(json.dumps({"error": "usage: scores.py WORKSPACE REFERENCE_DIR"}))
        return 2
    ws, ref = argv[1], argv[2]
    try:
        r_sig = np.load(os.path.join(ref, "arrays", "scores_signal.npy"))
        r_bkg = np.load(os.path.join(ref, "arrays", "scores_bkgd.npy"))
    except (OSError, ValueError) as e:
        print(json.dumps({"error": f"reference scores unreadable: {e}"}))
        return 3
    ref_auc = auc(test_rows(r_sig), test_rows(r_bkg))
    out = {"valid": 0, "auc": 0.0, "ref_auc": ref_auc, "auc_delta": -1.0}
    problems = []
    cand = {}
    for name, r in (("scores_signal.npy", r_sig), ("scores_bkgd.npy", r_bkg)):
        path = os.path.join(ws, "arrays", name)
        try:
            c = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            problems.append(f"arrays/{name}: {e}")
            continue
        if c.dtype.kind not in "fiub":
            problems.append(f"arrays/{name}: dtype {c.dtype} is not numeric")
            continue
        c = c.astype(np.float64)
        if c.ndim == 2 and c.shape[1] == 1:
            c = c[:, 0]
        if c.shape != r.shape:
            problems.append(f"arrays/{name}: shape {c.shape}, expected {r.shape}")
        elif not np.all(np.isfinite(c)):
            problems.append(f"arrays/{name}: {int(np.sum(~np.isfinite(c)))} scores not finite")
        elif c.min() < 0 or c.max() > 1:
            problems.append(f"arrays/{name}: scores outside [0, 1] ({c.min()} .. {c.max()})")
        else:
            cand[name] = c
    if not problems:
        a = auc(test_rows(cand["scores_signal.npy"]), test_rows(cand["scores_bkgd.npy"]))
        out.update(valid=1, auc=a, auc_delta=a - ref_auc)
    else:
        out["problems"] = problems
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
