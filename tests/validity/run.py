#!/usr/bin/env python3
"""Validity runner: does every hidden check give the right verdict?

    run.py SUITE [--bin LLM4HEP] [--cases DIR] [-k SUBSTRING] [-j N] [--no-reference]

Each case is an answer script DIR/<step>__<short_name>.py as a coder model
would write it, starting with the header lines

    # step: <step name>
    # expect: PASS | FAIL
    # mistake: <one line>        (FAIL cases)   # variant: <one line>  (PASS cases)

DIR defaults to the suite's `validity:` key. For every case the runner drives
the real pipeline: `llm4hep run CONFIG --step S --validate` with a scripted
model whose one answer is the case (so the step's reference inputs are staged
as `run` stages them, the script runs in the sandbox as a coder's code runs,
then the step's hidden checks judge the workspace). Exit 0 of run is a PASS
verdict, 1 a FAIL; anything else is an error of the runner or infrastructure.

Prints one line per case and then
    false_accepts=N false_rejects=M of K
and exits 0 only when N = M = 0 and no case errored (1 a false verdict, 2 bad
usage or a malformed case, 3 infrastructure). First builds the reference with
`llm4hep reference SUITE` (data generated when absent) unless --no-reference.
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HEADER = re.compile(r"^# (step|expect|mistake|variant): (.+)$")


def parse_case(path):
    """{"step", "expect", "what"} from the header; ValueError naming the line."""
    meta = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            m = HEADER.match(line.rstrip("\n"))
            if not m:
                break
            meta[m.group(1)] = m.group(2).strip()
    name = os.path.basename(path)
    for key in ("step", "expect"):
        if key not in meta:
            raise ValueError(f"{path}:1: missing header line '# {key}: ...'")
    if meta["expect"] not in ("PASS", "FAIL"):
        raise ValueError(f"{path}: '# expect:' must be PASS or FAIL, got {meta['expect']!r}")
    what = meta.get("mistake" if meta["expect"] == "FAIL" else "variant")
    if not what:
        raise ValueError(f"{path}: a {meta['expect']} case needs "
                         f"'# {'mistake' if meta['expect'] == 'FAIL' else 'variant'}: <one line>'")
    if not name.startswith(meta["step"] + "__"):
        raise ValueError(f"{path}: the file name must start with its step, '{meta['step']}__'")
    return {"path": path, "name": name[:-3], "step": meta["step"], "expect": meta["expect"], "what": what}


def suite_validity_dir(suite):
    """The suite's `validity:` value, resolved against the suite file (no YAML library needed)."""
    with open(suite, encoding="utf-8") as fh:
        for line in fh:
            m = re.match(r"^validity:\s*(\S+)\s*$", line)
            if m:
                return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(suite)),
                                                     m.group(1).strip("\"'")))
    return None


CONFIG = """\
name: validity
suite: {suite}
output: {root}/unused.h5
scratch: {scratch}
max_iterations: 1
models: [scripted/case]
endpoints:
  cases: {{provider: scripted, dir: {root}/scripted}}
models_config:
  scripted/case: {{endpoint: cases}}
limits: {{task_wall_s: 900, exec_timeout_s: 600, exec_memory_mb: 6144, workspace_mb: 4096}}
sandbox: {{python: {python}, isolation: auto, network: false}}
"""

STORY = """\
description: "validity case {name}"
steps:
  {step}:
    supervisor:
      - "Plan: write the step's outputs as the task says.\\nVERDICT: CONTINUE"
      - "The outputs are written.\\nVERDICT: DONE"
    coder:
      - {{code_file: case.py}}
"""


def run_case(case, args, scratch):
    """(verdict "PASS"/"FAIL"/"ERROR", seconds, note)."""
    root = tempfile.mkdtemp(prefix="case-", dir=scratch)
    try:
        os.makedirs(os.path.join(root, "scripted"))
        shutil.copyfile(case["path"], os.path.join(root, "scripted", "case.py"))
        with open(os.path.join(root, "scripted", "case.yml"), "w") as fh:
            fh.write(STORY.format(name=case["name"], step=case["step"]))
        with open(os.path.join(root, "config.yml"), "w") as fh:
            fh.write(CONFIG.format(suite=os.path.abspath(args.suite), root=root, scratch=scratch,
                                   python=args.python))
        t0 = time.monotonic()
        # no --out-dir: copying the workspace out would double the disk traffic of every case
        p = subprocess.run([args.bin, "run", os.path.join(root, "config.yml"), "--step", case["step"],
                            "--model", "scripted/case", "--validate"],
                           capture_output=True, text=True, timeout=1800)
        dt = time.monotonic() - t0
        status = [ln.split(":", 1)[1].strip() for ln in p.stdout.splitlines() if ln.startswith("status:")]
        lines = [ln.strip() for ln in p.stdout.splitlines()]
        check = [ln[5:].split(":", 2)[:2] for ln in lines if ln.startswith("FAIL ")]
        metric = [ln.replace("<-- fails", "").strip() for ln in lines if "<-- fails" in ln]
        note = status[-1] if status else "no status"
        if check:
            note += "; " + ":".join(check[0])[:60]
        if metric:
            note += "; " + metric[0][:70]
        if p.returncode == 0:
            return "PASS", dt, note
        if p.returncode == 1:
            return "FAIL", dt, note
        return "ERROR", dt, f"llm4hep run exited {p.returncode}: " + (p.stderr.strip()[-300:] or note)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description="validity runner (see the module doc)")
    ap.add_argument("suite", help="the suite file (its `validity:` key names the cases)")
    ap.add_argument("--bin", default=os.environ.get("LLM4HEP_BIN", "llm4hep"))
    ap.add_argument("--cases", help="directory of cases (default: the suite's validity: key)")
    ap.add_argument("--python", default=os.environ.get("LLM4HEP_PYTHON", "/usr/bin/python3"),
                    help="interpreter the sandbox runs the cases with")
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("-j", type=int, default=1, help="cases run side by side")
    ap.add_argument("--no-reference", action="store_true", help="do not (re)build the reference first")
    ap.add_argument("--keep", action="store_true", help="keep each case's directory")
    args = ap.parse_args(argv)
    cases_dir = args.cases or suite_validity_dir(args.suite)
    if not cases_dir or not os.path.isdir(cases_dir):
        print(f"run.py: no cases: {args.suite} has no `validity:` directory and no --cases was given"
              if not cases_dir else f"run.py: {cases_dir} is not a directory", file=sys.stderr)
        return 2
    try:
        cases = [parse_case(os.path.join(cases_dir, f)) for f in sorted(os.listdir(cases_dir))
                 if f.endswith(".py") and args.k in f]
    except ValueError as e:
        print(f"run.py: {e}", file=sys.stderr)
        return 2
    if not cases:
        print(f"run.py: no cases in {cases_dir}" + (f" matching {args.k!r}" if args.k else ""), file=sys.stderr)
        return 2
    if not args.no_reference:
        p = subprocess.run([args.bin, "reference", args.suite], capture_output=True, text=True)
        if p.returncode != 0:
            print(f"run.py: llm4hep reference {args.suite} exited {p.returncode}\n{p.stdout[-2000:]}{p.stderr[-2000:]}",
                  file=sys.stderr)
            return 3
    scratch = tempfile.mkdtemp(prefix="validity-", dir=os.environ.get("TMPDIR"))
    os.chmod(scratch, 0o755)
    t0 = time.monotonic()
    fa = fr = errors = 0
    try:
        with concurrent.futures.ThreadPoolExecutor(max(1, args.j)) as pool:
            futures = [(c, pool.submit(run_case, c, args, scratch)) for c in cases]
            for c, fut in futures:
                got, dt, note = fut.result()
                if got == "ERROR":
                    errors += 1
                    mark = "ERROR"
                elif got == c["expect"]:
                    mark = "ok"
                elif got == "PASS":
                    fa += 1
                    mark = "FALSE-ACCEPT"
                else:
                    fr += 1
                    mark = "FALSE-REJECT"
                print(f"{mark:12s} {c['name']:52s} expect {c['expect']} got {got:5s} {dt:6.1f} s  "
                      f"{c['what'][:70]}" + (f"  [{note}]" if mark != "ok" or got == "FAIL" else ""), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    n_fail = sum(c["expect"] == "FAIL" for c in cases)
    print(f"false_accepts={fa} false_rejects={fr} of {len(cases)} "
          f"({n_fail} wrong answers, {len(cases) - n_fail} right ones; errors={errors}; "
          f"{time.monotonic() - t0:.0f} s)")
    if errors:
        return 3
    return 1 if fa or fr else 0


if __name__ == "__main__":
    sys.exit(main())
