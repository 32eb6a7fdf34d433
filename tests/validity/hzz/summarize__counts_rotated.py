# step: summarize
# expect: FAIL
# mistake: each file is given the entry count of the next file
import json
import os

import h5py

DATA = os.environ.get("LLM4HEP_DATA", "/data")
WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
files, totals = [], {"data": 0, "mc": 0}
for sub in ("Data", "MC"):
    for name in sorted(os.listdir(os.path.join(DATA, sub))):
        with h5py.File(os.path.join(DATA, sub, name), "r") as f:
            t = f["mini"]
            br = {}
            t.visititems(lambda k, d: br.__setitem__(
                k, ("vector<%s>" % d.dtype.name) if "counts" in d.attrs else d.dtype.name))
            n = int(t.attrs["entries"])
        files.append({"path": f"{sub}/{name}", "tree": "mini", "entries": n, "branches": br})
        totals["data" if sub == "Data" else "mc"] += n
[f.__setitem__("entries", g) for f, g in zip(files, [x["entries"] for x in files[1:] + files[:1]])]
json.dump({"files": files, "totals": totals}, open(os.path.join(WORKSPACE, "summary.json"), "w"), indent=2)
with open(os.path.join(WORKSPACE, "summary.txt"), "w") as fh:
    for f in files:
        fh.write(f"{f['path']} tree=mini entries={f['entries']:,}\n")
        for b, t in f["branches"].items():
            fh.write(f"  {b}: {t}\n")
    fh.write(f"total data: {totals['data']:,}\ntotal MC: {totals['mc']:,}\n")
print(totals)
