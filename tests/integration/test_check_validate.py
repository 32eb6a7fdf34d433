"""`llm4hep validate SUITE --step S --out-dir DIR` end to end: array, text and
command checks (the check program runs in the real sandbox and sees the
reference), the report, and the exit codes 0 pass / 1 fail / 2 usage / 3
infrastructure. A small suite made here, plus the H->gamma gamma suite's own
reference validated against itself.

Run: /usr/bin/python3 -m pytest -q tests/integration/test_check_validate.py
"""
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np
import pytest
from pathlib import Path

from conftest import BIN, SRC

SUITE = """\
name: mini
data_dir: data
reference_dir: ref
prompts: {supervisor_first: p.txt, supervisor: p.txt, coder: p.txt}
steps:
  - name: arrays
    prompt: p.txt
    checks:
      - {type: array, file: arrays/x.npy, sig_digits: 4, zero_floor: 1.0e-9}
      - {type: text, file: summary.txt, patterns: ['^total: [0-9]+$', 'mini']}
  - name: judged
    prompt: p.txt
    checks:
      - {type: command,
         run: [python, checks/judge.py, "{{workspace}}", "{{reference_dir}}", "{{step}}", "{{step_number}}"],
         expect: {ratio: {min: 0.95}, ok: {min: 1}}}
"""

JUDGE = """\
import json, os, sys
ws, ref = sys.argv[1], sys.argv[2]
try:
    want = json.load(open(os.path.join(ref, "result.json")))
except OSError:
    print(json.dumps({"error": "reference unreadable"}))
    sys.exit(3)
cand = json.load(open(os.path.join(ws, "result.json")))
mode = cand.get("mode", "")
if mode == "nojson":
    print("ratio looks fine to me")
    sys.exit(0)
if mode == "exit3":
    print(json.dumps({"error": "the candidate made me give up"}))
    sys.exit(3)
out = {"ratio": cand["value"] / want["value"], "ok": 1, "argv": sys.argv[1:]}
if mode == "nan":
    out["ratio"] = float("nan")
print("scoring...")
print(json.dumps(out))
"""


# The sandbox runs check programs as an unprivileged user, so everything it
# mounts must be reachable by others (pytest's own tmp_path is 0700).
@pytest.fixture(scope="module")
def base():
    d = tempfile.mkdtemp(prefix="l4h_validate_")
    os.chmod(d, 0o755)
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def tmp_path(base, request):
    d = Path(tempfile.mkdtemp(prefix=request.node.name[:40] + "_", dir=base))
    os.chmod(d, 0o755)
    return d


@pytest.fixture(scope="module")
def suite(base):
    d = base / "mini_suite"
    d.mkdir()
    (d / "suite.yml").write_text(SUITE)
    (d / "p.txt").write_text("Do the step {{step}}.\n")
    (d / "checks").mkdir()
    (d / "checks" / "judge.py").write_text(JUDGE)
    (d / "data").mkdir()
    (d / "data" / "events.txt").write_text("1 2 3\n")
    ref = d / "ref"
    (ref / "arrays").mkdir(parents=True)
    x = np.arange(60, dtype=np.float64).reshape(20, 3) * 1.5 + 100.0
    np.save(ref / "arrays" / "x.npy", x)
    (ref / "summary.txt").write_text("mini summary\ntotal: 60\n")
    (ref / "result.json").write_text(json.dumps({"value": 2.0}))
    return d


def workspace(suite, tmp_path, name="ws"):
    ws = tmp_path / name
    shutil.copytree(suite / "ref", ws)
    return ws


def validate(*args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([BIN, "validate", *map(str, args)], capture_output=True, text=True,
                          env=e, timeout=300)


def test_help():
    p = validate("--help")
    assert p.returncode == 0
    assert "usage: llm4hep validate SUITE --step S --out-dir DIR" in p.stdout
    assert "Exit 0" in p.stdout


def test_bad_usage(suite, tmp_path):
    ws = workspace(suite, tmp_path)
    y = suite / "suite.yml"
    cases = [
        ((), "SUITE (a suite.yml) is required"),
        ((y, "--out-dir", tmp_path), "found no step's outputs"),
        ((y, "--step", "1"), "--out-dir DIR is required"),
        ((y, "--step", "1", "--out-dir", ws, "--frobnicate"), "unknown option '--frobnicate'"),
        ((y, "--step", "1", "--out-dir", tmp_path / "absent"), "not a directory"),
        ((y, "--step", "nope", "--out-dir", ws), "no such step in"),
        ((y, "--step"), "--step needs a value"),
        ((tmp_path / "absent.yml", "--step", "1", "--out-dir", ws), "absent.yml"),
    ]
    for args, msg in cases:
        p = validate(*args)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert msg in p.stderr, (args, p.stderr)
    p = validate(y, "--step", "nope", "--out-dir", ws)
    assert "1=arrays 2=judged" in p.stderr


def test_array_and_text_pass(suite, tmp_path):
    ws = workspace(suite, tmp_path)
    # within half a unit of the 4th significant digit
    x = np.load(ws / "arrays" / "x.npy")
    np.save(ws / "arrays" / "x.npy", x * (1 + 4e-5))
    y = suite / "suite.yml"
    for args in ([y, "--step", "arrays", "--out-dir", ws], [y, "--step", "1", "--out-dir", ws],
                 ["--step=1", f"--out-dir={ws}", y]):
        p = validate(*args)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "pass array:arrays/x.npy" in p.stdout
        assert "pass text:summary.txt" in p.stdout
        assert "2 of 2 checks passed — PASS" in p.stdout


def test_array_and_text_fail(suite, tmp_path):
    ws = workspace(suite, tmp_path)
    x = np.load(ws / "arrays" / "x.npy")
    x[7, 2] *= 1.001   # 4th digit
    x[:, 1] = np.nan   # a NaN-filled column
    np.save(ws / "arrays" / "x.npy", x)
    (ws / "summary.txt").write_text("mini summary\ntotal: sixty\n")
    p = validate(suite / "suite.yml", "--step", "arrays", "--out-dir", ws)
    assert p.returncode == 1, p.stdout + p.stderr
    out = p.stdout
    assert "FAIL array:arrays/x.npy" in out
    assert "21 of 60 values (35%) differ beyond 4 significant digits" in out
    assert "column 1: 20 of 20 rows differ, first at row 0" in out
    assert "column 2: 1 of 20 rows differ, first at row 7" in out
    assert "data quality: the candidate is NaN where the reference has numbers in column 1" in out
    assert "worst row 0" in out and "<-- differs" in out
    assert "FAIL text:summary.txt" in out
    assert "pattern 1 '^total: [0-9]+$' not found" in out
    assert "0 of 2 checks passed — FAIL" in out


def test_shape_dtype_missing_and_escape(suite, tmp_path):
    ws = workspace(suite, tmp_path)
    np.save(ws / "arrays" / "x.npy", np.zeros((20, 2)))
    os.remove(ws / "summary.txt")
    p = validate(suite / "suite.yml", "--step", "1", "--out-dir", ws)
    assert p.returncode == 1
    assert "shape mismatch: candidate (20, 2), reference (20, 3) (1 column missing)" in p.stdout
    assert "summary.txt: the output was not written" in p.stdout

    np.save(ws / "arrays" / "x.npy", np.zeros((20, 3), dtype=np.int32))
    p = validate(suite / "suite.yml", "--step", "1", "--out-dir", ws)
    assert "dtype class mismatch: candidate int (<i4), reference float (<f8)" in p.stdout

    # a candidate that is a link to the reference itself does not pass
    os.remove(ws / "arrays" / "x.npy")
    os.symlink(suite / "ref" / "arrays" / "x.npy", ws / "arrays" / "x.npy")
    p = validate(suite / "suite.yml", "--step", "1", "--out-dir", ws)
    assert p.returncode == 1
    assert "resolves outside the workspace" in p.stdout


def test_missing_reference_is_infrastructure(suite, tmp_path):
    d = tmp_path / "copy"
    shutil.copytree(suite, d)
    ws = workspace(d, tmp_path)
    os.remove(d / "ref" / "arrays" / "x.npy")
    p = validate(d / "suite.yml", "--step", "1", "--out-dir", ws)
    assert p.returncode == 3, p.stdout + p.stderr
    assert "reference output" in p.stderr and "llm4hep reference" in p.stderr
    shutil.rmtree(d / "ref")
    p = validate(d / "suite.yml", "--step", "1", "--out-dir", ws)
    assert p.returncode == 3
    assert "no reference outputs" in p.stderr


def command(suite, ws, result):
    (ws / "result.json").write_text(json.dumps(result))
    return validate(suite / "suite.yml", "--step", "judged", "--out-dir", ws)


def test_command_check_pass(suite, tmp_path):
    ws = workspace(suite, tmp_path)
    p = command(suite, ws, {"value": 1.98})
    assert p.returncode == 0, p.stdout + p.stderr
    assert "pass command:checks/judge.py" in p.stdout or "pass command:" in p.stdout
    assert "1 of 1 checks passed — PASS" in p.stdout


def test_command_check_sees_rendered_paths(suite, tmp_path):
    ws = workspace(suite, tmp_path)
    p = command(suite, ws, {"value": 1.0})
    assert p.returncode == 1, p.stdout + p.stderr
    out = p.stdout
    assert "ratio = 0.5, below the minimum 0.95  <-- fails" in out
    assert "ok = 1 (>= 1)" in out
    # {{step}} and {{step_number}} rendered; the workspace and reference are the sandbox's views
    line = next(l for l in out.splitlines() if l.strip().startswith("output"))
    assert '\\"judged\\",\\"2\\"' in line or '"judged","2"' in line, line
    assert ("/workspace" in line and "/reference" in line) or str(ws) in line, line


def test_command_check_failures(suite, tmp_path):
    ws = workspace(suite, tmp_path)
    p = command(suite, ws, {"mode": "nojson"})
    assert p.returncode == 1
    assert "printed no JSON object on stdout; it began: 'ratio looks fine to me\\n'" in p.stdout
    p = command(suite, ws, {"value": 2.0, "mode": "nan"})
    assert p.returncode == 1
    assert "ratio: null (or NaN), expected a number" in p.stdout
    # a "cannot judge" (exit 3) that the candidate caused is its failure:
    # the same program judges the reference (issue 19)
    p = command(suite, ws, {"mode": "exit3"})
    assert p.returncode == 1, p.stdout + p.stderr
    assert "exited with status 3" in p.stdout and "the candidate made me give up" in p.stdout
    # one the reference reproduces cannot judge anything: not the model's
    ref = suite / "ref" / "result.json"
    os.rename(ref, str(ref) + ".away")
    try:
        p = command(suite, ws, {"value": 2.0})
    finally:
        os.rename(str(ref) + ".away", ref)
    assert p.returncode == 3, p.stdout + p.stderr
    assert "could not judge" in p.stderr
    assert "reference unreadable" in p.stdout


@pytest.fixture(scope="module")
def hgg(base):
    d = base / "hgg"
    d.mkdir()
    env = {"LLM4HEP_HGG_DATA": str(d / "data"), "LLM4HEP_HGG_REF": str(d / "ref"),
           "LLM4HEP_HGG_SIZE": "tiny"}
    e = dict(os.environ, **env)
    p = subprocess.run([BIN, "reference", os.path.join(SRC, "reference", "hgg", "suite.yml")],
                       capture_output=True, text=True, env=e, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    return d, env


def test_hgg_reference_validates_against_itself(hgg, tmp_path):
    d, env = hgg
    suite = os.path.join(SRC, "reference", "hgg", "suite.yml")
    for step in ("summarize_root", "create_numpy", "preprocess", "scores", "categorization"):
        p = validate(suite, "--step", step, "--out-dir", d / "ref", env=env)
        assert p.returncode == 0, step + "\n" + p.stdout + p.stderr
        assert "— PASS" in p.stdout
    ws = tmp_path / "cand"
    shutil.copytree(d / "ref", ws)
    sig = np.load(ws / "arrays" / "signal.npy")
    sig[:, 32] = 0.0  # weights lost
    np.save(ws / "arrays" / "signal.npy", sig)
    p = validate(suite, "--step", "preprocess", "--out-dir", ws, env=env)
    assert p.returncode == 1
    assert "data quality: the candidate is 0 where the reference is not in column 32" in p.stdout
    assert "pass array:arrays/bkgd.npy" in p.stdout


# ---------------------------------------------------------------- comparison plots

def read_hist(csv_path):
    import csv
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    out = {}
    for r in rows:
        out.setdefault(int(r["column"]), []).append(
            (float(r["lo"]), float(r["hi"]), int(r["candidate"]), int(r["reference"]),
             int(r["difference"])))
    return out


def test_comparison_plots_show_the_failed_column(suite, tmp_path):
    import matplotlib.image as mpimg
    ws = workspace(suite, tmp_path)
    x = np.load(ws / "arrays" / "x.npy")
    x[:, 1] *= 1.3  # column 1 wrong, columns 0 and 2 right
    np.save(ws / "arrays" / "x.npy", x)
    p = validate(suite / "suite.yml", "--step", "arrays", "--out-dir", ws)
    assert p.returncode == 1, p.stdout + p.stderr
    plots = ws / "plots" / "validation"
    assert "comparison plots (candidate vs reference, per column): %s/plots/validation/" % ws in p.stdout
    assert sorted(f.name for f in plots.iterdir()) == [
        "arrays__x.csv", "arrays__x__col00.png", "arrays__x__col01.png", "arrays__x__col02.png"]
    ref = np.load(suite / "ref" / "arrays" / "x.npy")
    hist = read_hist(plots / "arrays__x.csv")
    for col in range(3):
        edges = [h[0] for h in hist[col]] + [hist[col][-1][1]]
        want_c, _ = np.histogram(x[:, col], bins=edges)
        want_r, _ = np.histogram(ref[:, col], bins=edges)
        assert [h[2] for h in hist[col]] == list(want_c), col
        assert [h[3] for h in hist[col]] == list(want_r), col
        assert [h[4] for h in hist[col]] == list(want_c - want_r), col
    assert not any(h[4] for h in hist[0]) and not any(h[4] for h in hist[2])
    assert any(h[4] for h in hist[1])  # the failed column is seen
    for col in range(3):
        img = mpimg.imread(plots / ("arrays__x__col%02d.png" % col))
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
        assert img[..., :3].std() > 0.05  # drawn, not blank
    # the validation log beside it
    log = (ws / "logs" / "arrays_validation.log").read_text()
    assert "FAIL array:arrays/x.npy" in log and "1 of 2 checks passed — FAIL" in log


def test_comparison_plots_read_the_candidate_as_hostile(suite, tmp_path):
    y = suite / "suite.yml"
    # a link to the reference: the check fails and nothing is read through it
    ws = workspace(suite, tmp_path, "link")
    (ws / "arrays" / "x.npy").unlink()
    (ws / "arrays" / "x.npy").symlink_to(suite / "ref" / "arrays" / "x.npy")
    p = validate(y, "--step", "arrays", "--out-dir", ws)
    assert p.returncode == 1
    assert not (ws / "plots" / "validation").exists()
    # a pickled object array and a header claiming 2**40 rows: refused by name, no crash
    ws = workspace(suite, tmp_path, "pickle")
    np.save(ws / "arrays" / "x.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    p = validate(y, "--step", "arrays", "--out-dir", ws)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "candidate arrays/x.npy: dtype object is not a plain number" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr
    ws = workspace(suite, tmp_path, "huge")
    hdr = "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 3), }"
    hdr = hdr + " " * (117 - len(hdr)) + "\n"
    (ws / "arrays" / "x.npy").write_bytes(b"\x93NUMPY\x01\x00" + bytes([len(hdr), 0]) + hdr.encode()
                                          + b"\0" * 64)
    p = validate(y, "--step", "arrays", "--out-dir", ws)
    assert p.returncode == 1
    assert "over the cap" in p.stderr and "Traceback" not in p.stderr, p.stderr
    # plots/ planted as a link out of the folder: nothing is written through it
    ws = workspace(suite, tmp_path, "plotlink")
    outside = tmp_path / "outside"
    outside.mkdir()
    (ws / "plots").symlink_to(outside)
    p = validate(y, "--step", "arrays", "--out-dir", ws)
    assert p.returncode == 0, p.stdout + p.stderr
    assert list(outside.iterdir()) == []
    assert "comparison plots" in p.stderr  # said why there are none
