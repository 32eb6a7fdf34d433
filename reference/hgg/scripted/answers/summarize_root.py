# Summarize the GamGam input files: trees, branches, types, entries.
import glob
import json
import os

import h5py

DATA = os.environ.get("LLM4HEP_DATA", "/data")
WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")

files = sorted(glob.glob(os.path.join(DATA, "Data", "*.h5"))) + sorted(glob.glob(os.path.join(DATA, "MC", "*.h5")))
lines, totals, doc = [], {"data": 0, "signal_mc": 0}, {"files": []}
for path in files:
    rel = os.path.relpath(path, DATA)
    lines.append(f"== {rel}")
    trees = []
    with h5py.File(path, "r") as f:
        for tree in f:
            g = f[tree]
            entries = int(g.attrs["entries"])
            totals["data" if rel.startswith("Data") else "signal_mc"] += entries
            lines.append(f"tree '{tree}': {entries} entries, {len(g)} branches")
            branches = []
            for name in g:
                d = g[name]
                dtype = "bool" if d.dtype == bool else d.dtype.name
                if "counts" in d.attrs:
                    branches.append({"name": name, "type": f"vector<{dtype}>", "counts": str(d.attrs["counts"])})
                    lines.append(f"   {name:28s} vector<{dtype}> (counts in {d.attrs['counts']})")
                else:
                    branches.append({"name": name, "type": dtype})
                    lines.append(f"   {name:28s} {dtype}")
            trees.append({"name": tree, "entries": entries, "branches": branches})
    doc["files"].append({"path": rel, "trees": trees})
    lines.append("")
for k, v in totals.items():
    lines.append(f"total {k} entries: {v}")
doc["totals"] = totals
with open(os.path.join(WORKSPACE, "summary.json"), "w") as fh:
    json.dump(doc, fh, indent=1)

with open(os.path.join(WORKSPACE, "summary.txt"), "w") as fh:
    fh.write("\n".join(lines) + "\n")
print("wrote summary.txt for", len(files), "files;", totals)
