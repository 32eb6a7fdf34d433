# Summarize the GamGam input files: trees, branches, types, entries.
import glob
import os

import h5py

DATA = os.environ.get("LLM4HEP_DATA", "/data")
WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")

files = sorted(glob.glob(os.path.join(DATA, "Data", "*.h5"))) + sorted(glob.glob(os.path.join(DATA, "MC", "*.h5")))
lines, totals = [], {"data": 0, "signal MC": 0}
for path in files:
    rel = os.path.relpath(path, DATA)
    lines.append(f"== {rel}")
    with h5py.File(path, "r") as f:
        for tree in f:
            g = f[tree]
            entries = int(g.attrs["entries"])
            totals["data" if rel.startswith("Data") else "signal MC"] += entries
            lines.append(f"tree '{tree}': {entries} entries, {len(g)} branches")
            for name in g:
                d = g[name]
                kind = f"vector<{d.dtype}> (counts in {d.attrs['counts']})" if "counts" in d.attrs else str(d.dtype)
                lines.append(f"   {name:28s} {kind}")
    lines.append("")
for k, v in totals.items():
    lines.append(f"total {k} entries: {v}")

with open(os.path.join(WORKSPACE, "summary.txt"), "w") as fh:
    fh.write("\n".join(lines) + "\n")
print("wrote summary.txt for", len(files), "files;", totals)
