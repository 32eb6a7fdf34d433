# step: summarize
# expect: PASS
# variant: builds a pandas table of branches first; writes the text as a markdown-like table
import json
import os

import h5py
import pandas as pd

DATA = os.environ.get("LLM4HEP_DATA", "/data")
WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
rows, entries = [], {}
for sub in ("Data", "MC"):
    for name in sorted(os.listdir(os.path.join(DATA, sub))):
        rel = f"{sub}/{name}"
        with h5py.File(os.path.join(DATA, rel), "r") as f:
            for tree in f:
                entries[(rel, tree)] = int(f[tree].attrs["entries"])
                for b, d in f[tree].items():
                    typ = str(d.dtype)
                    rows.append({"path": rel, "tree": tree, "branch": b,
                                 "type": f"vector<{typ}>" if "counts" in d.attrs else typ})
df = pd.DataFrame(rows)
files = [{"path": p, "tree": t, "entries": n,
          "branches": dict(zip(df[(df.path == p) & (df.tree == t)].branch, df[(df.path == p) & (df.tree == t)].type))}
         for (p, t), n in entries.items()]
totals = {"data": sum(n for (p, _), n in entries.items() if p.startswith("Data/")),
          "mc": sum(n for (p, _), n in entries.items() if p.startswith("MC/"))}
with open(os.path.join(WORKSPACE, "summary.json"), "w") as fh:
    json.dump({"files": files, "totals": totals}, fh)
with open(os.path.join(WORKSPACE, "summary.txt"), "w") as fh:
    for f in files:
        fh.write(f"| {f['path']} | {f['tree']} | {f['entries']} entries |\n")
        fh.write(df[df.path == f["path"]][["branch", "type"]].to_string(index=False) + "\n\n")
    fh.write(f"Totals: data {totals['data']} events, MC {totals['mc']} events\n")
print(totals)
