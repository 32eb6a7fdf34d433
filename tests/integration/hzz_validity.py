#!/usr/bin/env python3
"""Run a suite's validity cases against its checks, without the C binary.

    hzz_validity.py [--jobs N] SUITE REFERENCE_DIR DATA_DIR CASES_DIR [CASE...]

A stop-gap until tests/validity/run.py and `llm4hep selftest` land (the
validity engineer's); same case FORMAT: CASES_DIR/<step>__<name>.py starting
with `# step:`, `# expect: PASS|FAIL`, `# mistake:` or `# variant:` lines.

For each case: a fresh workspace gets the step's staged reference files
(read-only), the case runs there with LLM4HEP_WORKSPACE / LLM4HEP_DATA set
(a case that does not exit 0 is an ERROR: a wrong answer must be wrong in
its outputs, not crash — counted as a false verdict), then every check of the step is applied
as the framework applies it: `array` with the DESIGN.md tolerance (the
Python twin reference/hgg/checks/compare_arrays.py), `command` run with
`python -I`, cwd and HOME outside the workspace, its last JSON line judged
by `expect`, `text` with the POSIX ERE patterns. Prints one line per case and
`false_accepts=N false_rejects=M of K`; exit 0 when there is no false verdict.
"""
import glob
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

import yaml

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "reference", "hgg", "checks"))
from compare_arrays import compare  # noqa: E402

PY = sys.executable


def header(path):
    """{"step", "expect", "mistake"/"variant"} from a case's leading comments."""
    h = {}
    with open(path) as fh:
        for line in fh:
            m = re.match(r"#\s*(step|expect|mistake|variant):\s*(.*\S)", line)
            if not m:
                break
            h[m.group(1)] = m.group(2)
    if h.get("expect") not in ("PASS", "FAIL") or "step" not in h:
        raise ValueError(f"{path}: header needs '# step:' and '# expect: PASS|FAIL'")
    return h


def posix_ere(p):
    return p.replace("[[:space:]]", r"\s").replace("[[:digit:]]", r"\d")


def render(arg, suite_dir, ws, ref):
    a = arg.replace("{{workspace}}", ws).replace("{{reference_dir}}", ref)
    if os.path.isfile(os.path.join(suite_dir, a)):
        a = os.path.join(suite_dir, a)
    return a


def run_checks(step, suite_dir, ws, ref, outside):
    """(passed, [reason]) of every check of a step on workspace ws."""
    reasons = []
    for c in step["checks"]:
        if c["type"] == "array":
            r = compare(os.path.join(ws, c["file"]), os.path.join(ref, c["file"]),
                        c.get("sig_digits", 4), c.get("zero_floor", 1e-9))
            if not r["passed"]:
                reasons.append(f"array {c['file']}: {r['report']}")
        elif c["type"] == "text":
            try:
                with open(os.path.join(ws, c["file"]), encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
            except OSError as e:
                reasons.append(f"text {c['file']}: {e.strerror}")
                continue
            for p in c["patterns"]:
                if not re.search(posix_ere(p), text):
                    reasons.append(f"text {c['file']}: no match for {p}")
        elif c["type"] == "command":
            argv = [render(a, suite_dir, ws, ref) for a in c["run"]]
            if argv[0] == "python":
                argv = [PY, "-I"] + argv[1:]
            p = subprocess.run(argv, capture_output=True, text=True, cwd=outside, timeout=300,
                               env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": outside})
            lines = [ln for ln in p.stdout.splitlines() if ln.strip().startswith("{")]
            if p.returncode != 0 or not lines:
                reasons.append(f"command {argv[1:3]}: exit {p.returncode} {p.stderr[-300:]}")
                continue
            out = json.loads(lines[-1])
            for key, lim in c.get("expect", {}).items():
                v = out.get(key)
                if not isinstance(v, (int, float)) or isinstance(v, bool) \
                        or ("min" in lim and v < lim["min"]) or ("max" in lim and v > lim["max"]):
                    reasons.append(f"{key} = {v!r} outside {lim}")
        else:
            reasons.append(f"unknown check type {c['type']}")
    return not reasons, reasons


def make_readonly(path):
    for root, dirs, files in os.walk(path):
        for f in files:
            os.chmod(os.path.join(root, f), stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


def run_case(case, suite, suite_dir, ref, data, tmp):
    h = header(case)
    step = next(s for s in suite["steps"] if s["name"] == h["step"])
    ws = tempfile.mkdtemp(prefix="ws-", dir=tmp)
    outside = tempfile.mkdtemp(prefix="cwd-", dir=tmp)
    for sub in ("arrays", "plots", "logs"):
        os.makedirs(os.path.join(ws, sub))
    for f in step.get("stage", []):
        shutil.copy(os.path.join(ref, f), os.path.join(ws, f))
        os.chmod(os.path.join(ws, f), 0o444)
    p = subprocess.run([PY, case], capture_output=True, text=True, cwd=ws, timeout=300,
                       env={**os.environ, "LLM4HEP_WORKSPACE": ws, "LLM4HEP_DATA": data})
    if p.returncode != 0:
        verdict, why = "ERROR", [f"case exited {p.returncode}: {p.stderr.strip()[-300:]}"]
    else:
        ok, why = run_checks(step, suite_dir, ws, ref, outside)
        verdict = "PASS" if ok else "FAIL"
    shutil.rmtree(ws, ignore_errors=True)
    shutil.rmtree(outside, ignore_errors=True)
    return h, verdict, why


def main(argv):
    jobs = 1
    if len(argv) > 2 and argv[1] == "--jobs":
        jobs = max(1, int(argv[2]))
        argv = argv[:1] + argv[3:]
    if len(argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    suite_path, ref, data, cases_dir = (os.path.abspath(a) for a in argv[1:5])
    with open(suite_path) as fh:
        suite = yaml.safe_load(fh)
    suite_dir = os.path.dirname(suite_path)
    cases = [os.path.abspath(c) for c in argv[5:]] or sorted(glob.glob(os.path.join(cases_dir, "*__*.py")))
    fa = fr = 0
    from concurrent.futures import ThreadPoolExecutor
    with tempfile.TemporaryDirectory(prefix="hzz-validity-") as tmp, ThreadPoolExecutor(jobs) as pool:
        results = pool.map(lambda c: (c, *run_case(c, suite, suite_dir, ref, data, tmp)), cases)
        for case, h, verdict, why in results:
            false = verdict != h["expect"]
            fa += false and verdict == "PASS"
            fr += false and verdict != "PASS"
            print(f"{'FALSE' if false else 'ok   '} {os.path.basename(case):45s} expect {h['expect']} "
                  f"got {verdict}" + (f"  ({'; '.join(why)[:200]})" if false or verdict == "FAIL" else ""),
                  flush=True)
    print(f"false_accepts={fa} false_rejects={fr} of {len(cases)}")
    return 0 if fa == fr == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
