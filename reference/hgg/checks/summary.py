#!/usr/bin/env python3
"""Hidden check of step 1 (summarize_root).

    summary.py WORKSPACE REFERENCE_DIR

Reads WORKSPACE/summary.txt and the reference's summary.json and prints one
JSON object: the fraction of files (by name), trees, branches and per-file
entry counts that the summary names, each 1.0 when complete, and up to 20
missing items. Names must appear as whole words; entry counts as integers
(thousands separators "," "_" "'" allowed). Exit 0 when it judged, 3 when the
reference is unreadable.
"""
import json
import os
import re
import sys


def word(name):
    return re.compile(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])")


def integers(text):
    text = re.sub(r"(?<=\d)[,_'\u2009\u202f](?=\d{3}(?!\d))", "", text)
    return {int(x) for x in re.findall(r"(?<![\d.])\d+(?!\d|\.\d)", text)}


def judge(text, ref):
    found = {"files": [0, 0], "trees": [0, 0], "branches": [0, 0], "entries": [0, 0]}
    missing = []
    ints = integers(text)
    trees, branches = set(), set()

    def tally(kind, ok, what):
        found[kind][1] += 1
        found[kind][0] += ok
        if not ok:
            missing.append(f"{kind[:-1] if kind != 'entries' else 'entries of'} {what}")

    for f in ref["files"]:
        tally("files", bool(word(os.path.basename(f["path"])).search(text)), f["path"])
        for tname, t in f["trees"].items():
            trees.add(tname)
            branches.update(t["branches"])
            if t.get("entries") is not None:
                tally("entries", t["entries"] in ints, f"{f['path']} ({t['entries']})")
    for tname in sorted(trees):
        tally("trees", bool(word(tname).search(text)), tname)
    for b in sorted(branches):
        tally("branches", bool(word(b).search(text)), b)
    out = {k: (v[0] / v[1] if v[1] else 1.0) for k, v in found.items()}
    out["missing"] = missing[:20]
    out["n_missing"] = len(missing)
    return out


def main(argv):
    if len(argv) != 3:
        print(json.dumps({"error": "usage: summary.py WORKSPACE REFERENCE_DIR"}))
        return 2
    ws, ref_dir = argv[1], argv[2]
    try:
        with open(os.path.join(ref_dir, "summary.json")) as fh:
            ref = json.load(fh)
    except (OSError, ValueError) as e:
        print(json.dumps({"error": f"reference summary.json unreadable: {e}"}))
        return 3
    try:
        with open(os.path.join(ws, "summary.txt"), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError as e:
        print(json.dumps({"files": 0.0, "trees": 0.0, "branches": 0.0, "entries": 0.0,
                          "error": f"summary.txt: {e.strerror}"}))
        return 0
    print(json.dumps(judge(text, ref)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
