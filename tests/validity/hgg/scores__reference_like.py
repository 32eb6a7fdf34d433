# step: scores
# expect: PASS
# variant: the prescribed classifier, numpy features
import os

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
A = os.path.join(WORKSPACE, "arrays")
sig = np.load(os.path.join(A, "signal.npy"))
bkg = np.load(os.path.join(A, "bkgd.npy"))
COLS = [0, 1, 3, 4, 45, 6, 7, 9, 10, 12, 13, 15, 16, 18, 19, 21, 22, 24, 25, 27, 28, 30]

def features(a):
    x = a[:, COLS].copy()
    x[:, 0] = a[:, 0] / a[:, 44]
    x[:, 2] = a[:, 3] / a[:, 44]
    return x

def train_rows(n):
    i = np.arange(n)
    return i[i % 4 != 0][:50000]

xs, xb = features(sig), features(bkg)
ts, tb = train_rows(len(sig)), train_rows(len(bkg))
x = np.concatenate([xs[ts], xb[tb]])
y = np.concatenate([np.ones(len(ts)), np.zeros(len(tb))])
clf = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, max_leaf_nodes=31, early_stopping=False, random_state=42)
clf.fit(x, y)
s_sig = clf.predict_proba(xs)[:, 1]
s_bkg = clf.predict_proba(xb)[:, 1]

np.save(os.path.join(A, "scores_signal.npy"), s_sig.astype(np.float64))
np.save(os.path.join(A, "scores_bkgd.npy"), s_bkg.astype(np.float64))
test_s, test_b = s_sig[::4], s_bkg[::4]
from sklearn.metrics import roc_auc_score
print("test AUC", roc_auc_score(np.r_[np.ones(len(test_s)), np.zeros(len(test_b))], np.r_[test_s, test_b]))
