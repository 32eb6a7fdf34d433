#!/usr/bin/env python3
"""Calibration of the mass_window threshold (z_ratio >= 0.95 in suite.yml).

    calibrate.py REFERENCE_DIR [REFERENCE_DIR...]

For each reference directory (built by `llm4hep reference` at some size)
prints, for windows a model might report, Z recomputed with the tool's
definitions and its ratio to the reference optimum — the table of
docs/notes/hzz.md. Strategies: fixed regions, symmetric windows around
125 GeV, the best window on coarse grids, the optimum.
"""
import importlib.util
import json
import os
import sys


HERE = os.path.dirname(os.path.abspath(__file__))


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv):
    tool = load("hzz_window", os.path.join(HERE, "..", "tools", "window.py"))
    soln = load("hzz_soln", os.path.join(HERE, "..", "soln.py"))
    for ref in argv[1:]:
        data = tool.load(ref)
        with open(os.path.join(ref, "window.json")) as fh:
            w = json.load(fh)
        z_opt = tool.evaluate(w["low"], w["high"], data)["z"]
        rows = [("signal region 115-130", 115, 130), ("published 118-129", 118, 129),
                ("120-130", 120, 130), ("125 +- 4", 121, 129), ("125 +- 3.5", 121.5, 128.5),
                ("125 +- 3", 122, 128), ("125 +- 2.5", 122.5, 127.5), ("125 +- 2", 123, 127),
                ("125 +- 1", 124, 126)]
        for step in (2.0, 1.0, 0.5):
            lo, hi, _ = soln.optimize(tool, data, step=step)
            rows.append((f"best on a {step:g} GeV grid", lo, hi))
        rows.append(("optimum (0.25 GeV grid)", w["low"], w["high"]))
        print(f"{ref}: optimum {w['low']}-{w['high']} GeV, Z = {z_opt:.3f}")
        print(f"  {'window':28s} {'low':>7s} {'high':>7s} {'s':>7s} {'b':>7s} {'Z':>7s} {'Z/Zopt':>7s} verdict")
        for name, lo, hi in rows:
            r = tool.evaluate(lo, hi, data)
            ratio = r["z"] / z_opt if r["valid"] else 0.0
            print(f"  {name:28s} {lo:7.2f} {hi:7.2f} {r['signal']:7.2f} {r['background']:7.2f} "
                  f"{(r['z'] or 0):7.3f} {ratio:7.3f} {'pass' if ratio >= 0.95 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
