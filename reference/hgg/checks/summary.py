#!/usr/bin/env python3
"""Hidden check of step 1 (summarize_root).

    summary.py WORKSPACE REFERENCE_DIR

Judges WORKSPACE/summary.json, the machine-readable half of the answer
(schema in prompts/summarize_root.txt and docs/notes/validity.md), against
the reference's summary.json, and the human half WORKSPACE/summary.txt for
the file names and the two totals. Prints one JSON object; every value is a
fraction that must be 1 (all right) except `extra` (must be 0):

  files     reference files listed under their path (relative to the data dir)
  trees     (file, tree) pairs listed
  entries   (file, tree) pairs whose "entries" equals that file's count
            (a count is tied to its file: counts that belong to other files,
            or are swapped between files, fail here)
  branches  (file, tree, branch) triples listed by exact name
  types     listed branches whose type is right: the dtype class (float32,
            int32, uint32, bool, float64 ... and their ROOT / C spellings),
            vector or scalar, and for a vector the count branch (`counts`)
            (a vector branch called a plain scalar fails here)
  totals    "totals": {"data": N, "signal_mc": M} equal to the sums of the
            data files' and the signal MC files' entries
  text      summary.txt names every file (base name) and both totals
  extra     files, trees or branches listed that do not exist (0 needed)

What it proves: the answer's numbers and types are the data's, each tied to
the file and branch it belongs to. What it cannot: that summary.txt is
pleasant to read, or that the JSON was not typed in by hand (it only has to be
right). Exit 0 when it judged, 2 bad usage, 3 reference unreadable.
"""
import json
import os
import re
import sys

SCALAR_CLASSES = {
    "float32": "float32", "float": "float32", "f4": "float32", "<f4": "float32", "single": "float32",
    "float_t": "float32", "float64": "float64", "double": "float64", "f8": "float64", "<f8": "float64",
    "int32": "int32", "int": "int32", "i4": "int32", "<i4": "int32", "int32_t": "int32",
    "int_t": "int32", "uint32": "uint32", "unsigned int": "uint32", "uint": "uint32",
    "u4": "uint32", "<u4": "uint32", "uint32_t": "uint32", "unsigned": "uint32",
    "int64": "int64", "long": "int64", "int64_t": "int64", "i8": "int64", "long long": "int64",
    "uint64": "uint64", "uint64_t": "uint64", "unsigned long": "uint64", "u8": "uint64",
    "bool": "bool", "bool_": "bool", "?": "bool", "b1": "bool", "boolean": "bool",
    "int16": "int16", "short": "int16", "int8": "int8", "char": "int8", "uint8": "uint8",
}


def parse_type(t):
    """('vector'|'scalar', class) of a type string, or None when unknown."""
    if not isinstance(t, str):
        return None
    s = re.sub(r"\s+", " ", t.strip().lower()).replace("std::", "")
    m = re.fullmatch(r"(?:vector|rvec) ?< ?(.+?) ?>", s) or re.fullmatch(r"(.+?) ?\[\]", s)
    kind = "vector" if m else "scalar"
    inner = m.group(1) if m else s
    cls = SCALAR_CLASSES.get(inner.replace("numpy.", "").replace("np.", ""))
    return (kind, cls) if cls else None


def ref_files(ref):
    """Reference summary.json (either schema) as {path: {tree: (entries, {branch: (type, counts)})}}."""
    out = {}
    for f in ref["files"]:
        trees = f["trees"]
        if isinstance(trees, dict):      # older reference layout: {tree: {entries, branches: {b: type}}}
            trees = [{"name": k, "entries": v.get("entries"),
                      "branches": [{"name": b, "type": t} for b, t in v["branches"].items()]}
                     for k, v in trees.items()]
        out[f["path"]] = {t["name"]: (t.get("entries"), {b["name"]: (b["type"], b.get("counts"))
                                                        for b in t["branches"]}) for t in trees}
    return out, ref.get("totals")


def judge(cand, text, ref, totals_ref):
    """The metrics dict (see the module doc) with up to 20 problems."""
    n = {k: [0, 0] for k in ("files", "trees", "entries", "branches", "types", "totals", "text")}
    problems, extra = [], 0

    def tally(kind, ok, why):
        n[kind][1] += 1
        n[kind][0] += bool(ok)
        if not ok:
            problems.append(why)

    files = cand.get("files") if isinstance(cand, dict) else None
    if not isinstance(files, list):
        files = []
        problems.append('summary.json: no "files" list')
    by_path = {}
    for f in files:
        if isinstance(f, dict) and isinstance(f.get("path"), str):
            p = os.path.normpath(f["path"]).lstrip("./")
            if p in by_path:
                problems.append(f"summary.json: file {p} listed twice")
            by_path[p] = f
    ref_paths = list(ref)
    known = set(ref_paths)
    for p in by_path:
        if p not in known:
            extra += 1
            problems.append(f"summary.json: file {p} does not exist in the data directory")
    for path in ref_paths:
        f = by_path.get(path)
        tally("files", f is not None, f"file {path} not listed (paths relative to the data directory)")
        trees_c = {}
        if f is not None:
            for t in f.get("trees") or []:
                if isinstance(t, dict) and isinstance(t.get("name"), str):
                    trees_c[t["name"]] = t
            for name in trees_c:
                if name not in ref[path]:
                    extra += 1
                    problems.append(f"{path}: tree {name} does not exist")
        for tname, (entries, branches) in ref[path].items():
            t = trees_c.get(tname)
            tally("trees", t is not None, f"{path}: tree {tname} not listed")
            e = t.get("entries") if t else None
            ok = isinstance(e, int) and not isinstance(e, bool) and e == entries
            tally("entries", ok, f"{path}: tree {tname} entries {e!r}, the file has {entries}")
            br_c = {}
            for b in (t.get("branches") if t else None) or []:
                if isinstance(b, dict) and isinstance(b.get("name"), str):
                    br_c[b["name"]] = b
            for bname in br_c:
                if bname not in branches:
                    extra += 1
                    problems.append(f"{path}: branch {bname} does not exist")
            for bname, (rtype, rcounts) in branches.items():
                b = br_c.get(bname)
                tally("branches", b is not None, f"{path}: branch {bname} not listed")
                if b is None:
                    continue
                want, got = parse_type(rtype), parse_type(b.get("type"))
                ok = got is not None and got == want
                if ok and want[0] == "vector" and rcounts:
                    ok = b.get("counts") == rcounts
                said = repr(b.get("type")) + (f" counts {b.get('counts')!r}" if "counts" in b else "")
                tally("types", ok, f"{path}: branch {bname} is {rtype}"
                      f"{' (counts in ' + rcounts + ')' if rcounts else ''}, the answer says {said}")
    tot = cand.get("totals") if isinstance(cand, dict) else None
    tot = tot if isinstance(tot, dict) else {}
    for key in ("data", "signal_mc"):
        v = tot.get(key)
        ok = isinstance(v, int) and not isinstance(v, bool) and v == totals_ref[key]
        tally("totals", ok, f'totals.{key} {v!r}, the files add up to {totals_ref[key]}')
    ints = integers(text)
    for path in ref:
        tally("text", word(os.path.basename(path)).search(text), f"summary.txt does not name {path}")
    for key in ("data", "signal_mc"):
        tally("text", totals_ref[key] in ints, f"summary.txt does not state the {key} total {totals_ref[key]}")
    out = {k: (v[0] / v[1] if v[1] else 0.0) for k, v in n.items()}
    out["extra"] = extra
    out["n_problems"] = len(problems)
    if problems:
        out["problems"] = problems[:20]
    return out


def word(name):
    return re.compile(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])")


def integers(text):
    text = re.sub(r"(?<=\d)[,_'\u2009\u202f](?=\d{3}(?!\d))", "", text)
    return {int(x) for x in re.findall(r"(?<![\d.])\d+(?!\d|\.\d)", text)}


def totals_of(ref):
    """{"data", "signal_mc"} sums of the reference's entries (data files under Data/)."""
    t = {"data": 0, "signal_mc": 0}
    for path, trees in ref.items():
        key = "data" if os.path.basename(path).startswith("data") else "signal_mc"
        t[key] += sum(e for e, _ in trees.values() if e)
    return t


def main(argv):
    if len(argv) != 3:
        print(json.dumps({"error": "usage: summary.py WORKSPACE REFERENCE_DIR"}))
        return 2
    ws, ref_dir = argv[1], argv[2]
    try:
        with open(os.path.join(ref_dir, "summary.json")) as fh:
            ref, totals_ref = ref_files(json.load(fh))
        totals_ref = totals_ref or totals_of(ref)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(json.dumps({"error": f"reference summary.json unreadable: {e}"}))
        return 3
    zero = {k: 0.0 for k in ("files", "trees", "entries", "branches", "types", "totals", "text")}
    try:
        with open(os.path.join(ws, "summary.txt"), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        with open(os.path.join(ws, "summary.json"), encoding="utf-8") as fh:
            cand = json.load(fh)
    except OSError as e:
        print(json.dumps({**zero, "extra": 0, "problems": [f"{os.path.basename(e.filename or '')}: {e.strerror}"]}))
        return 0
    except ValueError as e:
        print(json.dumps({**zero, "extra": 0, "problems": [f"summary.json is not JSON: {e}"]}))
        return 0
    print(json.dumps(judge(cand, text, ref, totals_ref)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
