#!/usr/bin/env python3
"""Hidden check of step 1 (summarize).

    summary.py WORKSPACE REFERENCE_DIR

Proves: the machine-readable WORKSPACE/summary.json (schema stated in
prompts/hzz_summarize.txt) names every input file with its tree, ties each
entry count to its own file, each type to its own branch (numpy dtype names;
ROOT/C spellings such as float, std::vector<float>, unsigned int are accepted
as aliases), states both totals, and invents no file or branch; and that the
human-readable WORKSPACE/summary.txt exists and names every file and both
totals. Cannot prove: that the text is well written or that its per-branch
lines agree with the JSON (people read the text; only the JSON is judged in
detail).

Prints one JSON object (fractions are 1.0 when complete):
  files, trees, entries, branches, types   fractions over the reference
  totals                                   1 when both totals are right
  spurious                                 files/branches not in the data
  text                                     1 when summary.txt names every file and both totals
Exit 0 when it judged (pass or fail), 2 on bad usage, 3 when the reference
is unreadable. Uses only the paths given; reads no environment.
"""
import json
import os
import re
import stat
import sys

MAX_BYTES = 8 << 20


def norm_type(t):
    """Canonical type: float32, float64, int32, uint32, bool, vector<...>."""
    if not isinstance(t, str):
        return None
    t = re.sub(r"\s+", " ", t.strip()).replace("std::", "")
    if t.startswith("vector<") and t.endswith(">"):
        inner = norm_type(t[7:-1])
        return f"vector<{inner}>" if inner else None
    return {"float": "float32", "double": "float64", "int": "int32", "int32_t": "int32",
            "unsigned int": "uint32", "uint32_t": "uint32", "unsigned": "uint32",
            "bool_": "bool", "Bool_t": "bool", "Float_t": "float32", "Int_t": "int32",
            "UInt_t": "uint32", "f4": "float32", "i4": "int32", "u4": "uint32"}.get(t, t)


def integers(text):
    text = re.sub(r"(?<=\d)[,_'\u2009\u202f](?=\d{3}(?!\d))", "", text)
    return {int(x) for x in re.findall(r"(?<![\d.])\d+(?!\d|\.\d)", text)}


def read_json(path):
    """The reference's JSON (trusted, from the reference directory)."""
    with open(path, "rb") as fh:
        return json.loads(fh.read().decode("utf-8"))


def read_candidate(path, cap):
    """Bytes of a candidate file the model's code wrote: a regular file, not a
    link, FIFO or device (O_NOFOLLOW | O_NONBLOCK), at most cap bytes;
    ValueError otherwise."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(cap + 1)
    finally:
        os.close(fd)
    if len(raw) > cap:
        raise ValueError(f"larger than {cap} bytes")
    return raw


def parse_json(raw):
    """JSON from bytes; ValueError for anything malformed (also too deep)."""
    try:
        return json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def judge(cand, text, ref):
    out = {"files": 0.0, "trees": 0.0, "entries": 0.0, "branches": 0.0, "types": 0.0,
           "totals": 0, "spurious": 0, "text": 0}
    problems = []
    if not isinstance(cand, dict) or not isinstance(cand.get("files"), list):
        return dict(out, problems=['summary.json: expected an object with a list "files"'])
    by_path = {}
    for f in cand["files"]:
        if isinstance(f, dict) and isinstance(f.get("path"), str):
            by_path.setdefault(f["path"].replace("\\", "/").lstrip("./"), f)
    n = {"files": 0, "trees": 0, "entries": 0, "branches": 0, "types": 0}
    tot = {"branches": 0}
    ref_paths = set()
    for rf in ref["files"]:
        ref_paths.add(rf["path"])
        cf = by_path.get(rf["path"])
        if cf is None:
            problems.append(f"file {rf['path']} missing")
            continue
        n["files"] += 1
        n["trees"] += cf.get("tree") == rf["tree"]
        ent = cf.get("entries")
        ok = isinstance(ent, int) and not isinstance(ent, bool) and ent == rf["entries"]
        n["entries"] += ok
        if not ok:
            problems.append(f"{rf['path']}: entries {ent!r}, expected {rf['entries']}")
        cb = cf.get("branches") if isinstance(cf.get("branches"), dict) else {}
        for b, t in rf["branches"].items():
            tot["branches"] += 1
            if b in cb:
                n["branches"] += 1
                if norm_type(cb[b]) == t:
                    n["types"] += 1
                elif len(problems) < 40:
                    problems.append(f"{rf['path']}: branch {b} type {cb[b]!r}, expected {t}")
            elif len(problems) < 40:
                problems.append(f"{rf['path']}: branch {b} missing")
        extra = sorted(set(cb) - set(rf["branches"]))
        out["spurious"] += len(extra)
        if extra:
            problems.append(f"{rf['path']}: branches not in the file: {extra[:5]}")
    extra_files = sorted(set(by_path) - ref_paths)
    out["spurious"] += len(extra_files)
    if extra_files:
        problems.append(f"files that do not exist: {extra_files[:5]}")
    nf = len(ref["files"])
    for k in ("files", "trees", "entries"):
        out[k] = n[k] / nf if nf else 1.0
    for k in ("branches", "types"):
        out[k] = n[k] / tot["branches"] if tot["branches"] else 1.0
    ct, rt = cand.get("totals"), ref["totals"]
    if isinstance(ct, dict) and all(type(ct.get(k)) is int and ct.get(k) == rt[k] for k in ("data", "mc")):
        out["totals"] = 1
    else:
        problems.append(f"totals {ct!r}, expected {rt}")
    if text is None:
        problems.append("summary.txt missing")
    else:
        ints = integers(text)
        names = all(re.search(r"(?<![A-Za-z0-9_.])" + re.escape(os.path.basename(f["path"])) + r"(?![A-Za-z0-9_])", text)
                    for f in ref["files"])
        if names and rt["data"] in ints and rt["mc"] in ints:
            out["text"] = 1
        else:
            problems.append("summary.txt does not name every file and both totals")
    if problems:
        out["problems"] = problems[:40]
    return out


def main(argv):
    if len(argv) != 3:
        print(json.dumps({"error": "usage: summary.py WORKSPACE REFERENCE_DIR"}))
        return 2
    ws, ref_dir = argv[1], argv[2]
    try:
        ref = read_json(os.path.join(ref_dir, "summary.json"))
    except (OSError, ValueError) as e:
        print(json.dumps({"error": f"reference summary.json unreadable: {e}"}))
        return 3
    try:
        cand = parse_json(read_candidate(os.path.join(ws, "summary.json"), MAX_BYTES))
    except (OSError, ValueError) as e:
        print(json.dumps({"files": 0.0, "trees": 0.0, "entries": 0.0, "branches": 0.0, "types": 0.0,
                          "totals": 0, "spurious": 0, "text": 0, "problems": [f"summary.json: {e}"]}))
        return 0
    try:
        text = read_candidate(os.path.join(ws, "summary.txt"), MAX_BYTES).decode("utf-8", errors="replace")
    except (OSError, ValueError):
        text = None
    print(json.dumps(judge(cand, text, ref)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
