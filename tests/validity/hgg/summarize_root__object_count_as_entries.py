# step: summarize_root
# expect: FAIL
# mistake: entries = number of photons (length of photon_pt) instead of events
import glob
import json
import os

import h5py

DATA = os.environ.get("LLM4HEP_DATA", "/data")
WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")

files = sorted(glob.glob(os.path.join(DATA, "Data", "*.h5"))) + sorted(glob.glob(os.path.join(DATA, "MC", "*.h5")))
doc = {"files": []}
lines = []
for path in files:
    rel = os.path.relpath(path, DATA)
    trees = []
    with h5py.File(path, "r") as f:
        for name in f:
            g = f[name]
            entries = len(g["photon_pt"])
            branches = []
            for b in g:
                d = g[b]
                typ = "bool" if d.dtype == bool else d.dtype.name
                if "counts" in d.attrs:
                    counts = d.attrs["counts"]
                    counts = counts.decode() if isinstance(counts, bytes) else str(counts)
                    branches.append({"name": b, "type": f"vector<{typ}>", "counts": counts})
                else:
                    branches.append({"name": b, "type": typ})
            trees.append({"name": name, "entries": entries, "branches": branches})
    doc["files"].append({"path": rel, "trees": trees})

totals = {"data": 0, "signal_mc": 0}
for f in doc["files"]:
    key = "data" if f["path"].startswith("Data") else "signal_mc"
    totals[key] += sum(t["entries"] for t in f["trees"])

doc["totals"] = totals
for f in doc["files"]:
    lines.append(f["path"])
    for t in f["trees"]:
        lines.append(f"  tree {t['name']}: {t['entries']} entries")
        for b in t["branches"]:
            lines.append(f"    {b['name']}: {b['type']}" + (f" (counts {b['counts']})" if "counts" in b else ""))
lines.append(f"Total data entries: {totals['data']}")
lines.append(f"Total signal MC entries: {totals['signal_mc']}")
with open(os.path.join(WORKSPACE, "summary.txt"), "w") as fh:
    fh.write("\n".join(lines) + "\n")
with open(os.path.join(WORKSPACE, "summary.json"), "w") as fh:
    json.dump(doc, fh, indent=1)
print("totals", totals)
