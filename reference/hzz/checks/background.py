#!/usr/bin/env python3
"""Hidden check of step 4 (background).

    background.py WORKSPACE REFERENCE_DIR

Proves: WORKSPACE/background.json holds the numbers of the ZZ* estimate the
prompt defines (prompts/hzz_background.txt) and each agrees with the
reference, computed from the same staged quadruplet arrays: n_data_cr
exactly; zz_cr, other_cr, mu_zz, zz_sr_mc, b_sr, s_sr within a relative
1e-3 (plus 1e-6 absolute, for terms that are near zero). Each number is
tied to its key, so a right value under the wrong key fails. Cannot prove:
that the code looked at no data in the signal region (only the outputs are
seen), nor distinguish mistakes whose effect is below the tolerance (e.g.
forgetting other_cr when the Z+jets/ttbar MC leaves ~0 events in the
control region — stated in docs/notes/hzz.md).

Prints one JSON object: valid (1 when every key is present and a finite
number), max_rel_diff over the compared keys (1 when not valid), and per
key the candidate and reference values. Exit 0 when it judged, 2 on bad
usage, 3 when the reference is unreadable.
"""
import json
import math
import os
import stat
import sys

KEYS = ["zz_cr", "other_cr", "mu_zz", "zz_sr_mc", "b_sr", "s_sr"]
ABS_FLOOR = 1e-6


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


def is_num(x):
    """A finite int or float (a bool is not a number; a huge int is not finite)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return False
    try:
        return math.isfinite(float(x))
    except OverflowError:
        return False


def main(argv):
    if len(argv) != 3:
        print(json.dumps({"error": "usage: background.py WORKSPACE REFERENCE_DIR"}))
        return 2
    ws, ref_dir = argv[1], argv[2]
    try:
        ref = read_json(os.path.join(ref_dir, "background.json"))
    except (OSError, ValueError) as e:
        print(json.dumps({"error": f"reference background.json unreadable: {e}"}))
        return 3
    out = {"valid": 0, "max_rel_diff": 1.0}
    try:
        cand = parse_json(read_candidate(os.path.join(ws, "background.json"), 1 << 20))
        if not isinstance(cand, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
        out["problems"] = [f"background.json: {e}"]
        print(json.dumps(out))
        return 0
    problems, worst = [], 0.0
    n = cand.get("n_data_cr")
    if not (is_num(n) and float(n) == ref["n_data_cr"]):   # 257 or 257.0
        problems.append(f"n_data_cr {n!r}, expected {ref['n_data_cr']}")
    for k in KEYS:
        c, r = cand.get(k), ref[k]
        out[k] = {"candidate": c, "reference": r}
        if not is_num(c):
            problems.append(f"{k}: {c!r} is not a finite number")
            continue
        d = abs(c - r)
        rel = d / abs(r) if r else (0.0 if d <= ABS_FLOOR else 1.0)
        if d <= ABS_FLOOR:
            rel = 0.0
        worst = max(worst, rel)
    if not problems:
        out.update(valid=1, max_rel_diff=worst)
    else:
        out["problems"] = problems
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
