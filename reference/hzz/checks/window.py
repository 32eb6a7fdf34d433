#!/usr/bin/env python3
"""Hidden check of step 5 (mass_window).

    window.py WORKSPACE REFERENCE_DIR TOOL

Proves: WORKSPACE/window.json = {"low": L, "high": H, "z": Z} names a valid
window (the tool's rules: 105 <= L < H <= 160 GeV, at least 2 GeV wide, at
least 10 ZZ* MC events inside), its Z recomputed on the reference's
quadruplets and mu_zz with the tool's definitions (loaded from TOOL, the path
the suite passes) reaches a stated fraction of the reference optimum, and
the claimed Z is the window's own. Cannot prove: how the window was found
(tool calls or a scan), nor reject a window that is worse than the optimum by
less than the threshold (calibration: docs/notes/hzz.md).

Prints one JSON object: window_valid (1/0), z, z_ref, z_ratio (0 when not
valid), z_claim_rel_diff (1 when missing or not valid), low, high. Exit 0
when it judged, 2 on bad usage, 3 when the reference or the tool is
unreadable.
"""
import importlib.util
import json
import math
import os
import stat
import sys


def tool(path):
    spec = importlib.util.spec_from_file_location("hzz_window", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


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



def main(argv):
    if len(argv) != 4:
        print(json.dumps({"error": "usage: window.py WORKSPACE REFERENCE_DIR TOOL"}))
        return 2
    ws, ref, path = argv[1], argv[2], argv[3]
    try:
        t = tool(path)
    except (OSError, SyntaxError, ImportError) as e:
        print(json.dumps({"error": f"cannot load the tool {path}: {e}"}))
        return 3
    try:
        data = t.load(ref)
        r = read_json(os.path.join(ref, "window.json"))
        z_ref = t.evaluate(*t.parse_window({"low": r["low"], "high": r["high"]}), data)["z"]
    except (OSError, ValueError, KeyError) as e:
        print(json.dumps({"error": f"reference unreadable: {e}"}))
        return 3
    out = {"window_valid": 0, "z": 0.0, "z_ref": z_ref, "z_ratio": 0.0, "z_claim_rel_diff": 1.0}
    try:
        cand = parse_json(read_candidate(os.path.join(ws, "window.json"), 1 << 20))
        if not isinstance(cand, dict):
            raise ValueError("not a JSON object")
        lo, hi = t.parse_window({"low": cand.get("low"), "high": cand.get("high")})
        res = t.evaluate(lo, hi, data)
        if not res["valid"]:
            raise ValueError("; ".join(res["problems"]))
    except OSError as e:
        out["problem"] = f"window.json: {e.strerror}"
    except ValueError as e:
        out["problem"] = f"window.json: {e}"
    else:
        z = res["z"]
        out.update(window_valid=1, z=z, z_ratio=z / z_ref if z_ref else 0.0, low=lo, high=hi)
        claimed = cand.get("z")
        if isinstance(claimed, (int, float)) and not isinstance(claimed, bool) and z > 0:
            try:
                if math.isfinite(float(claimed)):
                    out["z_claim_rel_diff"] = abs(float(claimed) - z) / z
            except OverflowError:
                pass
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
