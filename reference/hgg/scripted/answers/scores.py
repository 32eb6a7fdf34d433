# Train HistGradientBoosting on signal vs sideband background, score every row.
import os

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
JETS = [c for j in range(6) for c in (12 + 3 * j, 13 + 3 * j)]


def features(a):
    m = a[:, 44]
    return np.column_stack([a[:, 0] / m, a[:, 1], a[:, 3] / m, a[:, 4], a[:, 45],
                            a[:, 6], a[:, 7], a[:, 9], a[:, 10], a[:, JETS], a[:, 30]])


sig = np.load(os.path.join(WORKSPACE, "arrays", "signal.npy"))
bkg = np.load(os.path.join(WORKSPACE, "arrays", "bkgd.npy"))
xs, xb = features(sig), features(bkg)
test_s, test_b = np.arange(len(sig)) % 4 == 0, np.arange(len(bkg)) % 4 == 0
train_s, train_b = np.flatnonzero(~test_s)[:50000], np.flatnonzero(~test_b)[:50000]

clf = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, max_leaf_nodes=31,
                                     early_stopping=False, random_state=42)
clf.fit(np.vstack([xs[train_s], xb[train_b]]),
        np.concatenate([np.ones(len(train_s)), np.zeros(len(train_b))]))

ps, pb = clf.predict_proba(xs)[:, 1], clf.predict_proba(xb)[:, 1]
np.save(os.path.join(WORKSPACE, "arrays", "scores_signal.npy"), ps.astype(np.float64))
np.save(os.path.join(WORKSPACE, "arrays", "scores_bkgd.npy"), pb.astype(np.float64))
y = np.concatenate([np.ones(test_s.sum()), np.zeros(test_b.sum())])
print("scores", ps.shape, pb.shape, "test AUC %.4f" % roc_auc_score(y, np.concatenate([ps[test_s], pb[test_b]])))
