"""The H->ZZ*->4l suite (reference/hzz) at the tiny size: generator
determinism, `llm4hep reference --check`, the selection against an
independent re-implementation written here (event loop over the HDF5 files,
not the reference's vectorised code over its step-2 arrays), the signal peak,
the yields README.md states, the evaluate_window tool's contract, every
validity case (tests/validity/hzz) and the scripted demo models end to end.

Run: /usr/bin/python3 -m pytest -q tests/integration/test_hzz_suite.py
"""
import hashlib
import itertools
import json
import math
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

from conftest import BIN, HZZ_SUITE as SUITE, PY, SRC

SUITE_DIR = os.path.dirname(SUITE)
CASES = os.path.join(SRC, "tests", "validity", "hzz")
M_Z = 91.1876
SIGNAL, ZZ = (345060, 344235), 363490


def run(argv, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=600, **kw)
    assert p.returncode == 0, f"{argv} exited {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p


@pytest.fixture(scope="module")
def built():
    """Data and reference built by `llm4hep reference --check` at the tiny size,
    in a directory the sandbox user can search."""
    tmp = tempfile.mkdtemp(prefix="llm4hep-hzz-")
    os.chmod(tmp, 0o755)
    env = {**os.environ, "LLM4HEP_HZZ_DATA": os.path.join(tmp, "data"),
           "LLM4HEP_HZZ_REF": os.path.join(tmp, "ref"), "LLM4HEP_HZZ_SIZE": "tiny"}
    p = run([BIN, "reference", SUITE, "--check"], env=env)
    yield {"tmp": tmp, "data": env["LLM4HEP_HZZ_DATA"], "ref": env["LLM4HEP_HZZ_REF"], "env": env,
           "reference_out": p.stdout + p.stderr}
    shutil.rmtree(tmp, ignore_errors=True)


def test_reference_check_passes(built):
    out = built["reference_out"]
    assert "every check passes on the reference itself" in out
    assert len(re.findall(r"^check .* pass$", out, re.M)) == 8, out


def tree_hashes(d):
    out = {}
    for root, _, files in os.walk(d):
        for f in sorted(files):
            with open(os.path.join(root, f), "rb") as fh:
                out[os.path.relpath(os.path.join(root, f), d)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def test_generator_is_deterministic(built, tmp_path):
    gen = os.path.join(SUITE_DIR, "gen", "generate.py")
    run([PY, gen, "--out", str(tmp_path / "a"), "--size", "tiny"])
    run([PY, gen, "--out", str(tmp_path / "b"), "--size", "tiny", "--seed", "7"])
    a, b = tree_hashes(str(tmp_path / "a")), tree_hashes(built["data"])
    assert len(a) == 10 and a == b                       # same seed: same bytes as the suite's run
    c = tree_hashes(str(tmp_path / "b"))
    assert set(c) == set(a) and all(c[k] != a[k] for k in a)   # another seed: other events


def test_generator_branches_follow_the_4lep_tree(built):
    import h5py
    expect = {"lep_n": "uint32", "lep_pt": "float32", "lep_eta": "float32", "lep_phi": "float32",
              "lep_E": "float32", "lep_charge": "int32", "lep_type": "uint32", "lep_isTightID": "bool",
              "lep_ptcone30": "float32", "lep_etcone20": "float32", "lep_trackd0pvunbiased": "float32",
              "lep_tracksigd0pvunbiased": "float32", "lep_z0": "float32", "trigE": "bool", "trigM": "bool",
              "mcWeight": "float32", "SumWeights": "float32", "XSection": "float32",
              "scaleFactor_ELE": "float32", "scaleFactor_MUON": "float32",
              "scaleFactor_LepTRIGGER": "float32", "scaleFactor_PILEUP": "float32"}
    with h5py.File(os.path.join(built["data"], "MC", "mc_345060.ggH125_ZZ4lep.4lep.h5"), "r") as f:
        t = f["mini"]
        for name, dt in expect.items():
            assert t[name].dtype.name == dt, name
        n = t["lep_n"][...]
        assert int(t.attrs["entries"]) == len(n) and len(t["lep_pt"]) == n.sum() and n.min() >= 4
        assert set(np.unique(t["lep_type"][...])) == {11, 13}
        pt = t["lep_pt"][...]
        assert 20_000 < np.median(pt) < 40_000              # MeV
        off = np.concatenate([[0], np.cumsum(n.astype(np.int64))])
        assert all(np.all(np.diff(pt[off[i]:off[i + 1]]) <= 0) for i in range(200))   # descending pT


# ------------------------------------------------- independent selection

def independent_selection(path, is_data):
    """The prompt's selection, event by event straight from one HDF5 file:
    {event index in file: (m4l, mZ1, mZ2, final state, weight, z1 slots, z2 slots)}."""
    import h5py
    with h5py.File(path, "r") as f:
        t = {k: f["mini"][k][...] for k in f["mini"]}
    n = t["lep_n"].astype(np.int64)
    off = np.concatenate([[0], np.cumsum(n)])
    out = {}
    for i in range(len(n)):
        if not (t["trigE"][i] or t["trigM"][i]):
            continue
        good = []
        for j in range(off[i], off[i + 1]):
            pt = t["lep_pt"][j] / 1000.0
            e = t["lep_type"][j] == 11
            ok = bool(t["lep_isTightID"][j]) and pt > (7 if e else 5)
            ok = ok and t["lep_ptcone30"][j] / 1000.0 / pt < 0.15 and t["lep_etcone20"][j] / 1000.0 / pt < 0.20
            ok = ok and abs(t["lep_trackd0pvunbiased"][j]) / t["lep_tracksigd0pvunbiased"][j] < (5 if e else 3)
            ok = ok and abs(t["lep_z0"][j] / math.cosh(t["lep_eta"][j])) < 0.5
            if ok and j - off[i] < 5:
                good.append(j)
            elif ok:
                good.append(None)                         # a good lepton beyond the fifth slot
        if len(good) != 4 or None in good:
            continue

        def p4(js):
            E = sum(float(t["lep_E"][j]) for j in js) / 1000.0
            px = sum(float(t["lep_pt"][j]) * math.cos(t["lep_phi"][j]) for j in js) / 1000.0
            py = sum(float(t["lep_pt"][j]) * math.sin(t["lep_phi"][j]) for j in js) / 1000.0
            pz = sum(float(t["lep_pt"][j]) * math.sinh(t["lep_eta"][j]) for j in js) / 1000.0
            return math.sqrt(max(E * E - px * px - py * py - pz * pz, 0.0))

        sfos = lambda a, b: t["lep_type"][a] == t["lep_type"][b] and t["lep_charge"][a] == -t["lep_charge"][b]
        cands = []
        for a, b in itertools.combinations(good, 2):
            c, d = [x for x in good if x not in (a, b)]
            if sfos(a, b) and sfos(c, d):
                cands.append((abs(p4((a, b)) - M_Z), (a, b), (c, d)))
        if not cands:
            continue
        _, z1, z2 = min(cands, key=lambda x: x[0])        # first of equals, in pair order
        pts = sorted((t["lep_pt"][j] / 1000.0 for j in good), reverse=True)
        m1, m2 = p4(z1), p4(z2)
        if not (pts[0] > 20 and pts[1] > 15 and pts[2] > 10 and 50 < m1 < 106 and 12 < m2 < 115):
            continue
        w = 1.0
        if not is_data:
            w = (float(t["mcWeight"][i]) * float(t["scaleFactor_PILEUP"][i]) * float(t["scaleFactor_ELE"][i])
                 * float(t["scaleFactor_MUON"][i]) * float(t["scaleFactor_LepTRIGGER"][i])
                 * float(t["XSection"][i]) * 10064.0 / float(t["SumWeights"][i]))
        fs = 2 * (t["lep_type"][z1[0]] == 11) + (t["lep_type"][z2[0]] == 11)
        slots = lambda z: sorted(int(j - off[i]) for j in z)
        out[i] = (p4(z1 + z2), m1, m2, fs, w, slots(z1), slots(z2))
    return out


@pytest.mark.parametrize("kind", ["data", "mc"])
def test_selection_matches_independent_reimplementation(built, kind):
    sub = "Data" if kind == "data" else "MC"
    files = sorted(os.listdir(os.path.join(built["data"], sub)))
    ref = np.load(os.path.join(built["ref"], "arrays", f"quads_{kind}.npy"))
    expected, base = [], 0
    import h5py
    for f in files:
        path = os.path.join(built["data"], sub, f)
        sel = independent_selection(path, kind == "data")
        expected += [(base + i, *v) for i, v in sorted(sel.items())]
        with h5py.File(path, "r") as h:
            base += int(h["mini"].attrs["entries"])
    assert len(expected) == len(ref) > 200
    for row, e in zip(ref, expected):
        assert int(row[1]) == e[0]
        assert row[2:5] == pytest.approx(e[1:4], rel=1e-6)
        assert int(row[5]) == e[4]
        assert row[6] == pytest.approx(e[5], rel=1e-6)
        assert [int(row[7]), int(row[8])] == e[6] and [int(row[9]), int(row[10])] == e[7]


# ------------------------------------------------- physics and yields

def test_signal_peaks_at_125(built):
    q = np.load(os.path.join(built["ref"], "arrays", "quads_mc.npy"))
    s = q[np.isin(q[:, 0], SIGNAL)]
    m, w = s[:, 2], s[:, 6]
    hist, edges = np.histogram(m, bins=np.arange(110, 140.01, 0.5), weights=w)
    peak = 0.5 * (edges[hist.argmax()] + edges[hist.argmax() + 1])
    assert abs(peak - 125.0) <= 1.0
    assert abs(np.median(m) - 125.0) <= 1.0
    core = m[np.abs(m - 125) < 6]
    assert 1.3 < core.std() < 2.5                                  # resolution ~2 GeV
    fs = np.bincount(s[:, 5].astype(int), minlength=4) / len(s)    # 4mu, 2mu2e, 2e2mu, 4e
    assert fs[0] > 0.2 and fs[3] > 0.15 and 0.4 < fs[1] + fs[2] < 0.6


def test_yields_as_stated(built):
    """The figures of README.md (tiny size; default within a few %)."""
    bkg = json.load(open(os.path.join(built["ref"], "background.json")))
    win = json.load(open(os.path.join(built["ref"], "window.json")))
    assert 9.0 < bkg["s_sr"] < 14.0                    # signal, 115-130 GeV
    assert 6.0 < bkg["b_sr"] < 11.0                    # ZZ*, 115-130 GeV
    assert 0.8 < bkg["mu_zz"] < 1.2 and 200 < bkg["n_data_cr"] < 320
    assert 121.0 <= win["low"] < 125.0 < win["high"] <= 129.0
    assert 3.0 < win["z"] < 6.0
    q = np.load(os.path.join(built["ref"], "arrays", "quads_mc.npy"))
    peak = (q[:, 2] > win["low"]) & (q[:, 2] < win["high"])
    s = q[peak & np.isin(q[:, 0], SIGNAL), 6].sum()
    b = q[peak & (q[:, 0] == ZZ), 6].sum() * bkg["mu_zz"]
    assert s > 2 * b                                   # a handful of signal over a smaller ZZ*
    fakes = np.isin(q[:, 0], (361106, 361107, 410000))
    assert q[fakes, 6].sum() < 0.05 * bkg["zz_cr"]     # isolation and IP cuts remove Z+jets, ttbar


def test_cuts_remove_the_nonprompt_background(built):
    """Without isolation and impact-parameter cuts Z+jets/ttbar would pass."""
    from importlib.util import module_from_spec, spec_from_file_location
    spec = spec_from_file_location("hzz_soln", os.path.join(SUITE_DIR, "soln.py"))
    soln = module_from_spec(spec)
    spec.loader.exec_module(soln)
    a = np.load(os.path.join(built["ref"], "arrays", "mc_leptons.npy"))
    fakes = np.isin(a[:, 0], (361106, 361107, 410000))
    n_with = len(soln.quadruplets(a[fakes], False))
    saved = (soln.PTCONE_REL, soln.ETCONE_REL, dict(soln.D0SIG_MAX))
    try:
        soln.PTCONE_REL = soln.ETCONE_REL = 1e9
        soln.D0SIG_MAX.update({11: 1e9, 13: 1e9})
        n_without = len(soln.quadruplets(a[fakes], False))
    finally:
        soln.PTCONE_REL, soln.ETCONE_REL = saved[:2]
        soln.D0SIG_MAX.update(saved[2])
    assert n_without >= 20 * max(n_with, 1)


# ------------------------------------------------- the tool

def tool(ws, args):
    return subprocess.run([PY, "-I", os.path.join(SUITE_DIR, "tools", "window.py"), "--workspace", ws],
                          input=args, capture_output=True, text=True, timeout=60)


def test_window_tool_contract(built, tmp_path):
    ok = tool(built["ref"], '{"low": 120, "high": 130}')
    assert ok.returncode == 0
    r = json.loads(ok.stdout)
    assert r["valid"] and r["z"] > 0 and r["signal"] > r["background"] > 0 and r["zz_mc_events"] >= 10
    for bad in ('', '{"low": 120}', '{"low": 130, "high": 120}', '{"low": 100, "high": 130}',
                '{"low": "120", "high": 130}', '{"low": 120, "high": 130, "step": 1}', '[120, 130]',
                '{"low": NaN, "high": 130}', '{"low": 120,'):
        p = tool(built["ref"], bad)
        assert p.returncode == 2, bad
        assert "error" in json.loads(p.stdout) and "example" in json.loads(p.stdout)
    narrow = json.loads(tool(built["ref"], '{"low": 125, "high": 126}').stdout)
    assert narrow["valid"] is False and narrow["z"] is None and narrow["problems"]
    assert tool(str(tmp_path), '{"low": 120, "high": 130}').returncode == 3
    # the tool holds the definitions only, never the reference's optimiser
    src = open(os.path.join(SUITE_DIR, "tools", "window.py")).read()
    assert "def optimize" not in src and "optimize" in open(os.path.join(SUITE_DIR, "soln.py")).read()


# ------------------------------------------------- validity cases

def test_validity_cases_have_no_false_verdict(built):
    cases = sorted(f for f in os.listdir(CASES) if "__" in f and f.endswith(".py"))
    steps = {c.split("__")[0] for c in cases}
    assert steps == {"summarize", "leptons", "quadruplets", "background", "mass_window"}
    heads = [open(os.path.join(CASES, c)).read().split("\n")[:3] for c in cases]
    assert all(h[0] == f"# step: {c.split('__')[0]}" for h, c in zip(heads, cases))
    assert all(h[1] in ("# expect: PASS", "# expect: FAIL") for h in heads)
    assert all(h[2].startswith("# mistake: " if h[1].endswith("FAIL") else "# variant: ") for h in heads)
    assert sum(h[1].endswith("FAIL") for h in heads) >= 35 and sum(h[1].endswith("PASS") for h in heads) >= 10
    # the suite names its cases (validity:) and `selftest` runs them, as a
    # suite author would before any model is measured
    p = subprocess.run([BIN, "selftest", SUITE, "-j", "2"], capture_output=True, text=True,
                       timeout=900, env=built["env"])
    assert p.returncode == 0, p.stdout[-6000:] + p.stderr[-2000:]
    assert "every check passes on the reference itself" in p.stdout
    assert re.search(rf"^false_accepts=0 false_rejects=0 of {len(cases)}\b", p.stdout, re.M), p.stdout[-3000:]


# ------------------------------------------------- scripted models end to end

def test_scripted_models_end_to_end(built):
    cfg = os.path.join(built["tmp"], "config.yml")
    with open(cfg, "w") as fh:
        fh.write(f"""name: hzz-e2e
suite: {SUITE}
output: {built['tmp']}/results.h5
scratch: {built['tmp']}
max_iterations: 3
models: [scripted/careful]
endpoints:
  demo: {{provider: scripted, dir: {os.path.join(SUITE_DIR, 'scripted')}}}
model_defaults: {{endpoint: demo}}
""")
    stories = [("careful", "quadruplets", "success"), ("careful", "mass_window", "success"),
               ("sloppy", "quadruplets", "failed_validation"), ("sloppy", "mass_window", "failed_validation")]
    for model, step, status in stories:
        p = subprocess.run([BIN, "run", cfg, "--validate", "--step", step, "--model", f"scripted/{model}"],
                           capture_output=True, text=True, env=built["env"], timeout=600)
        out = p.stdout + p.stderr
        assert re.search(rf"^status: {status}$", out, re.M), (model, step, out[-3000:])


# ------------------------------------------------- hostile candidates

def check(name, ws, ref, *extra):
    """Run a check program as the framework does: python -I, cwd and HOME
    outside the workspace, paths only as arguments."""
    argv = [PY, "-I", os.path.join(SUITE_DIR, "checks", name), ws, ref, *extra]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd="/",
                       env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@pytest.mark.parametrize("what", ["symlink", "fifo", "deep", "huge_int", "not_object", "directory"])
def test_checks_judge_hostile_candidates(built, tmp_path, what):
    """What the model leaves in place of its answer never crashes, hangs or
    passes a check: a link to the reference's own answer, a FIFO, JSON nested
    100k deep, a 400-digit integer, a JSON array, a directory."""
    ref = built["ref"]
    files = {"summary.py": "summary.json", "background.py": "background.json", "window.py": "window.json"}
    for prog, fname in files.items():
        ws = tmp_path / prog
        ws.mkdir()
        target = ws / fname
        if what == "symlink":
            os.symlink(os.path.join(ref, fname), target)
            if prog == "summary.py":
                os.symlink(os.path.join(ref, "summary.txt"), ws / "summary.txt")
        elif what == "fifo":
            os.mkfifo(target)
        elif what == "deep":
            target.write_text("[" * 100000 + "]" * 100000)
        elif what == "huge_int":
            big = "9" * 400
            target.write_text({"summary.json": '{"files": [], "totals": {"data": %s, "mc": %s}}' % (big, big),
                               "background.json": '{"n_data_cr": %s, "mu_zz": %s}' % (big, big),
                               "window.json": '{"low": %s, "high": 130, "z": %s}' % (big, big)}[fname])
        elif what == "not_object":
            target.write_text("[1, 2, 3]")
        else:
            target.mkdir()
        extra = [os.path.join(SUITE_DIR, "tools", "window.py")] if prog == "window.py" else []
        out = check(prog, str(ws), ref, *extra)
        verdict = {"summary.py": lambda o: o["files"] == 1 and o["totals"] == 1,
                   "background.py": lambda o: o["valid"] == 1,
                   "window.py": lambda o: o["window_valid"] == 1}[prog]
        assert not verdict(out), (prog, what, out)


def test_window_tool_rejects_hostile_arguments(built):
    for bad in ('{"low": %s, "high": 130}' % ("9" * 400), "[" * 100000 + "]" * 100000):
        p = tool(built["ref"], bad)
        assert p.returncode == 2 and "error" in json.loads(p.stdout)
