#!/usr/bin/env python3
"""Hidden check of step 5 (categorization).

    significance.py WORKSPACE REFERENCE_DIR [TOOL]

Reads WORKSPACE/categories.json ({"boundaries": [...], "z": Z}) and
recomputes Z of those boundaries on the reference arrays with the tool's
definitions, loaded from TOOL (default ../tools/significance.py; the suite
passes it so that the sandbox shows the tool's directory too). Prints one
JSON object:
  boundaries_valid  1 when the boundaries are 0-4 numbers strictly inside
                    (0, 1), strictly increasing, every category with >= 10
                    bkgd events; else 0
  z, z_ref          Z of the candidate and of the reference boundaries
  z_ratio           z / z_ref (0 when not valid)
  z_claim_rel_diff  |claimed z - z| / z (1 when missing or not valid)
  n_boundaries
What it proves: the categories the answer hands on are as good as the
optimum (>= 95 % of Z, see README "Calibration") when judged with the tool's
definitions on the reference arrays, and the Z it claims is their Z (1 %).
What it cannot: tell how the boundaries were found — boundaries from a wrong
objective that land near the optimum, with their Z recomputed right, pass
(their deliverable is right). Exit 0 when it judged, 3 when the reference is
unreadable.
"""
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def tool(path):
    spec = importlib.util.spec_from_file_location("hgg_significance", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv):
    if len(argv) not in (3, 4):
        print(json.dumps({"error": "usage: significance.py WORKSPACE REFERENCE_DIR [TOOL]"}))
        return 2
    ws, ref = argv[1], argv[2]
    path = argv[3] if len(argv) == 4 else os.path.join(HERE, "..", "tools", "significance.py")
    try:
        sig = tool(path)
    except OSError as e:
        print(json.dumps({"error": f"cannot load the tool {path}: {e}"}))
        return 3
    try:
        data = sig.load(ref)
        with open(os.path.join(ref, "categories.json")) as fh:
            z_ref = sig.evaluate(sig.parse_boundaries({"boundaries": json.load(fh)["boundaries"]}), data)["z"]
    except (OSError, ValueError, KeyError) as e:
        print(json.dumps({"error": f"reference unreadable: {e}"}))
        return 3
    out = {"boundaries_valid": 0, "z": 0.0, "z_ref": z_ref, "z_ratio": 0.0,
           "z_claim_rel_diff": 1.0, "n_boundaries": -1}
    try:
        with open(os.path.join(ws, "categories.json")) as fh:
            cand = json.load(fh)
        bnd = sig.parse_boundaries({"boundaries": cand["boundaries"]})
        res = sig.evaluate(bnd, data)
        out["n_boundaries"] = len(bnd)
        if not res["valid"]:
            raise ValueError("; ".join(res["problems"]))
    except OSError as e:
        out["problem"] = f"categories.json: {e.strerror}"
    except (ValueError, KeyError, TypeError) as e:
        out["problem"] = f"categories.json: {type(e).__name__}: {e}"
    else:
        z = res["z"]
        out.update(boundaries_valid=1, z=z, z_ratio=z / z_ref if z_ref else 0.0)
        claimed = cand.get("z") if isinstance(cand, dict) else None
        if isinstance(claimed, (int, float)) and not isinstance(claimed, bool) and z > 0:
            out["z_claim_rel_diff"] = abs(claimed - z) / z
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
