"""The H->gamma gamma suite at tiny size: generator, reference solution,
physics, the evaluate_boundaries tool, the check programs and the scripted
answers — all built from suite.yml's own commands into temporary directories.

Run: /usr/bin/python3 -m pytest -q tests/integration/test_hgg_reference.py
"""
import glob
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import yaml

from conftest import BIN, HGG_SUITE as SUITE

SUITE_DIR = os.path.dirname(SUITE)
ANSWERS = os.path.join(SUITE_DIR, "scripted", "answers")
PY = sys.executable
sys.path.insert(0, os.path.join(SUITE_DIR, "checks"))
from compare_arrays import compare  # noqa: E402

N_DATA, N_MC = 6000, 4000          # tiny: gen/generate.py SIZES["tiny"]


def expand_env(s, env):
    """${VAR} and ${VAR:-default} as the config loader expands them."""
    def sub(m):
        val = env.get(m.group(1))
        return val if val else (m.group(3) or "")
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}", sub, s)


def render(argv, **vars_):
    """Suite argv -> runnable argv: placeholders, `python`, suite-relative files."""
    out = []
    for i, a in enumerate(argv):
        for k, v in vars_.items():
            a = a.replace("{{%s}}" % k, str(v))
        a = expand_env(a, {**os.environ, "LLM4HEP_HGG_SIZE": "tiny"})
        if i == 0 and a == "python":
            a = PY
        elif os.path.isfile(os.path.join(SUITE_DIR, a)):
            a = os.path.join(SUITE_DIR, a)
        out.append(a)
    return out


def run(argv, env=None, stdin=None, check=True):
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                       env={**os.environ, **(env or {})}, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"{argv} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def digest(root):
    out = {}
    for p in sorted(glob.glob(os.path.join(root, "**", "*"), recursive=True)):
        if os.path.isfile(p):
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
    return out


@pytest.fixture(scope="module")
def suite():
    with open(SUITE) as fh:
        return yaml.safe_load(fh)


def build(suite, data, ref):
    """Run the suite's generate (if data is absent) and every step's solution."""
    if not os.path.exists(data):
        run(render(suite["generate"], data_dir=data))
    for n, step in enumerate(suite["steps"], 1):
        run(render(suite["solution"], data_dir=data, workspace=ref, step_number=n, step=step["name"]))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, suite):
    root = tmp_path_factory.mktemp("hgg")
    data, ref = str(root / "data"), str(root / "solution")
    build(suite, data, ref)
    return {"root": root, "data": data, "ref": ref}


def load(ref, name):
    return np.load(os.path.join(ref, "arrays", name))


def sig_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location("hgg_sig", os.path.join(SUITE_DIR, "tools", "significance.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ------------------------------------------------------------- determinism

def test_generator_is_deterministic(tiny, tmp_path, suite):
    again = str(tmp_path / "data")
    run(render(suite["generate"], data_dir=again))
    first, second = digest(tiny["data"]), digest(again)
    assert len(first) == 9 and first == second


def test_different_seed_changes_the_data(tiny, tmp_path):
    other = str(tmp_path / "other")
    run([PY, os.path.join(SUITE_DIR, "gen", "generate.py"), "--out", other, "--size", "tiny", "--seed", "7"])
    assert digest(other) != digest(tiny["data"])


def test_solution_rerun_gives_identical_bytes(tiny, tmp_path, suite):
    ref2 = str(tmp_path / "solution")
    build(suite, tiny["data"], ref2)
    assert digest(tiny["ref"]) == digest(ref2)


# ------------------------------------------------------------- the samples

def test_files_branches_and_layout(tiny):
    import h5py
    names = sorted(os.path.relpath(p, tiny["data"]) for p in glob.glob(os.path.join(tiny["data"], "*", "*.h5")))
    assert names == ["Data/data_A.GamGam.h5", "Data/data_B.GamGam.h5", "Data/data_C.GamGam.h5",
                     "Data/data_D.GamGam.h5", "MC/mc_341081.ttH125_gamgam.GamGam.h5",
                     "MC/mc_343981.ggH125_gamgam.GamGam.h5", "MC/mc_345041.VBFH125_gamgam.GamGam.h5",
                     "MC/mc_345318.WpH125J_Wincl_gamgam.GamGam.h5", "MC/mc_345319.ZH125J_Zincl_gamgam.GamGam.h5"]
    with h5py.File(os.path.join(tiny["data"], "MC", "mc_343981.ggH125_gamgam.GamGam.h5")) as f:
        t = f["mini"]
        n = int(t.attrs["entries"])
        assert t["photon_n"].dtype == np.uint32 and t["met_et"].dtype == np.float32
        assert t["photon_isTightID"].dtype == bool and t["lep_type"].dtype == np.uint32
        for count in ("photon_n", "lep_n", "jet_n"):
            total = int(t[count][:].sum())
            for name in t:
                if t[name].attrs.get("counts") == count:
                    assert t[name].shape == (total,), name
                elif "counts" not in t[name].attrs:
                    assert t[name].shape == (n,), name
        assert (t["photon_n"][:] >= 1).all()
        pt, cnt = t["photon_pt"][:], t["photon_n"][:].astype(np.int64)
        assert np.median(pt) > 1000, "MeV"
        start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
        two = cnt >= 2
        assert (pt[start[two]] >= pt[start[two] + 1]).all(), "descending pT"


# ------------------------------------------------------------- step outputs

def test_raw_arrays_shapes_and_columns(tiny):
    d, s = load(tiny["ref"], "data_raw.npy"), load(tiny["ref"], "signal_raw.npy")
    assert d.shape == (N_DATA, 46) and s.shape == (N_MC, 46)
    assert d.dtype == np.float64
    for a in (d, s):
        assert np.isnan(a[:, 44:46]).all() and not np.isnan(a[:, :44]).any()
        assert (a[:, 0] > 10).all(), "every event has a photon, pT in GeV"
        missing2 = a[:, 3] == -999.0
        assert missing2.any() and (a[missing2][:, [4, 5, 36]] == -999.0).all()
        assert set(np.unique(a[~missing2][:, [35, 36]])) <= {0.0, 1.0}
        for first in range(6, 30, 3):              # padding is whole objects
            pad = a[:, first] == -999.0
            assert (a[pad][:, first:first + 3] == -999.0).all()
    assert (d[:, 32] == 1).all() and (d[:, 37:44] == 1).all(), "data: weights and SFs 1"
    assert abs(np.unique(s[:, 34]).min() - 0.001151) < 1e-6, "ttH cross section first (sorted names)"


def test_preprocessed_shapes_and_columns(tiny):
    s, b = load(tiny["ref"], "signal.npy"), load(tiny["ref"], "bkgd.npy")
    assert s.shape[1] == 46 and b.shape[1] == 46 and len(s) > 1000 and len(b) > 100
    for a in (s, b):
        assert ((a[:, 44] > 105) & (a[:, 44] < 160)).all()
        assert (a[:, 35] == 1).all() and (a[:, 36] == 1).all()
    assert ((b[:, 44] < 120) | (b[:, 44] > 130)).all()
    assert np.allclose(b[:, 32], 4 / 45)
    assert 300 < s[:, 32].sum() < 700, "about 450 selected signal events in 10 fb-1"


def test_signal_peaks_at_125(tiny):
    s = load(tiny["ref"], "signal.npy")
    h, e = np.histogram(s[:, 44], bins=np.arange(105, 160.5, 1.0), weights=s[:, 32])
    peak = e[np.argmax(h)] + 0.5
    assert abs(peak - 125) <= 1, peak
    core = s[(s[:, 44] > 120) & (s[:, 44] < 130), 44]
    width = np.subtract(*np.percentile(core, [84, 16])) / 2
    assert 1.3 < width < 2.3, width


def test_background_falls_across_the_window(tiny):
    b = load(tiny["ref"], "bkgd.npy")
    m = b[:, 44]
    low, high = np.sum(m < 120) / 15.0, np.sum(m > 130) / 30.0        # events per GeV
    assert low > 1.5 * high
    h, _ = np.histogram(m, bins=[105, 110, 115, 120, 130, 140, 150, 160])
    dens = np.delete(h, 3) / np.array([5, 5, 5, 10, 10, 10])
    assert np.corrcoef(np.arange(6), dens)[0, 1] < -0.8


def test_preprocess_matches_an_independent_selection(tiny):
    """Four-vectors, a different code path, same cuts."""
    for raw_name, out_name, sidebands in (("signal_raw.npy", "signal.npy", False),
                                          ("data_raw.npy", "bkgd.npy", True)):
        raw = load(tiny["ref"], raw_name)
        kept = []
        for row in raw:
            if row[35] != 1.0 or row[36] != 1.0:
                continue
            p = []
            for pt, eta, phi in (row[0:3], row[3:6]):
                p.append(np.array([pt * math.cosh(eta), pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(eta)]))
            tot = p[0] + p[1]
            m = math.sqrt(max(tot[0] ** 2 - tot[1] ** 2 - tot[2] ** 2 - tot[3] ** 2, 0.0))
            ok = all(pt > 25 and (abs(eta) < 1.37 or 1.52 < abs(eta) < 2.37)
                     for pt, eta in ((row[0], row[1]), (row[3], row[4])))
            ok = ok and m > 0 and row[0] / m > 0.35 and row[3] / m > 0.25 and 105 < m < 160
            if ok and sidebands:
                ok = m < 120 or m > 130
            if ok:
                r = row.copy()
                r[44], r[45] = m, math.hypot(tot[1], tot[2])
                r[32] = (4 / 45 if sidebands else
                         r[32] * r[37] * r[38] * r[39] * r[34] * 10064.0 / r[33])
                kept.append(r)
        mine, ref = np.array(kept), load(tiny["ref"], out_name)
        assert mine.shape == ref.shape, out_name
        assert np.allclose(mine, ref, rtol=1e-9, atol=1e-9), out_name


def test_scores_are_probabilities_with_sensible_auc(tiny):
    ss, sb = load(tiny["ref"], "scores_signal.npy"), load(tiny["ref"], "scores_bkgd.npy")
    assert ss.shape == (len(load(tiny["ref"], "signal.npy")),) and sb.shape == (len(load(tiny["ref"], "bkgd.npy")),)
    assert ss.min() >= 0 and ss.max() <= 1 and sb.min() >= 0 and sb.max() <= 1
    out = json.loads(run([PY, os.path.join(SUITE_DIR, "checks", "scores.py"), tiny["ref"], tiny["ref"]]).stdout)
    assert 0.65 < out["ref_auc"] < 0.99 and out["auc_delta"] == 0


def test_categorization_beats_one_category(tiny):
    sig = sig_tool()
    data = sig.load(tiny["ref"])
    with open(os.path.join(tiny["ref"], "categories.json")) as fh:
        cat = json.load(fh)
    best = sig.evaluate(cat["boundaries"], data)
    single = sig.evaluate([], data)
    assert best["valid"] and single["valid"]
    assert best["z"] > single["z"] * 1.05
    assert math.isclose(cat["z"], best["z"], rel_tol=1e-12)
    assert cat["boundaries"] == sorted(cat["boundaries"]) and 1 <= len(cat["boundaries"]) <= 4


# ------------------------------------------------------------- the tool

def three_event_workspace(tmp_path):
    """3 signal and 3 bkgd events with hand-picked masses, weights and scores."""
    arrays = tmp_path / "ws" / "arrays"
    arrays.mkdir(parents=True)
    sig = np.zeros((3, 46))
    sig[:, 44] = [125.0, 124.0, 150.0]          # the third is outside 123-127 GeV
    sig[:, 32] = [1.0, 2.0, 5.0]
    bkg = np.zeros((3, 46))
    bkg[:, 44] = [110.0, 140.0, 155.0]
    bkg[:, 32] = [4.0, 1.0, 0.5]
    np.save(arrays / "signal.npy", sig)
    np.save(arrays / "bkgd.npy", bkg)
    np.save(arrays / "scores_signal.npy", np.array([0.2, 0.7, 0.9]))
    np.save(arrays / "scores_bkgd.npy", np.array([0.1, 0.6, 0.8]))
    return str(tmp_path / "ws")


def call_tool(ws, args, *extra):
    p = run([PY, os.path.join(SUITE_DIR, "tools", "significance.py"), "--workspace", ws, *extra],
            stdin=args, check=False)
    return p.returncode, json.loads(p.stdout)


def z_hand(s, b):
    return math.sqrt(2 * ((s + b) * math.log(1 + s / b) - s))


def test_tool_matches_hand_calculation(tmp_path):
    ws = three_event_workspace(tmp_path)
    rc, out = call_tool(ws, '{"boundaries": [0.5]}', "--min-bkg-events", "1")
    assert rc == 0 and out["valid"]
    # category 0 (score < 0.5): s = 1 (score 0.2), b = 4 (score 0.1)
    # category 1: s = 2 (score 0.7; the 0.9 event is at 150 GeV), b = 1 + 0.5
    z0, z1 = z_hand(1.0, 4.0), z_hand(2.0, 1.5)
    c0, c1 = out["categories"]
    assert (c0["signal"], c0["background"], c0["background_events"]) == (1.0, 4.0, 1)
    assert (c1["signal"], c1["background"], c1["background_events"]) == (2.0, 1.5, 2)
    assert math.isclose(c0["z"], z0, rel_tol=1e-12) and math.isclose(c1["z"], z1, rel_tol=1e-12)
    assert math.isclose(out["z"], math.sqrt(z0 ** 2 + z1 ** 2), rel_tol=1e-12)
    assert out["window_gev"] == [123.0, 127.0] and c1["score_range"] == [0.5, 1.0]

    # a score equal to a boundary goes to the higher category
    rc, out = call_tool(ws, '{"boundaries": [0.6, 0.7]}', "--min-bkg-events", "1")
    cats = out["categories"]
    assert [c["background_events"] for c in cats] == [1, 1, 1]
    assert [c["signal"] for c in cats] == [1.0, 0.0, 2.0]
    assert math.isclose(out["z"], math.sqrt(z_hand(1, 4) ** 2 + z_hand(2, 0.5) ** 2), rel_tol=1e-12)

    # with the default minimum of 10 bkgd events per category nothing is allowed
    rc, out = call_tool(ws, '{"boundaries": []}')
    assert rc == 0 and out["valid"] is False and out["z"] is None and out["problems"]


@pytest.mark.parametrize("args, fragment", [
    ('{"boundaries": [0.4,', "not valid JSON"),
    ('', "no arguments"),
    ('[0.4, 0.8]', 'key "boundaries"'),
    ('{"boundary": 0.4}', 'key "boundaries"'),
    ('{"boundaries": [0.4], "n": 2}', "unknown argument"),
    ('{"boundaries": 0.4}', "must be a list"),
    ('{"boundaries": [0.8, 0.4]}', "strictly increasing"),
    ('{"boundaries": [0.4, 0.4]}', "strictly increasing"),
    ('{"boundaries": [0.0, 0.5]}', "strictly between 0 and 1"),
    ('{"boundaries": [0.5, 1.2]}', "strictly between 0 and 1"),
    ('{"boundaries": ["0.5"]}', "is not a number"),
    ('{"boundaries": [true]}', "is not a number"),
    ('{"boundaries": [0.1, 0.2, 0.3, 0.4, 0.5]}', "at most 4"),
])
def test_tool_rejects_bad_arguments_with_json(tmp_path, args, fragment):
    rc, out = call_tool(three_event_workspace(tmp_path), args)
    assert rc == 2 and fragment in out["error"] and out["example"] == {"boundaries": [0.3, 0.6, 0.9]}


def test_tool_reports_missing_workspace_arrays(tmp_path):
    rc, out = call_tool(str(tmp_path), '{"boundaries": [0.5]}')
    assert rc == 3 and "cannot read" in out["error"]


# ------------------------------------------------------------- checks

def ere_to_python(pattern):
    return pattern.replace("[[:space:]]", r"\s").replace("[[:digit:]]", r"\d")


def run_checks(suite, step_name, ws, ref):
    """Every check of the step as the framework runs it: [(label, passed, detail)]."""
    step = next(s for s in suite["steps"] if s["name"] == step_name)
    results = []
    for c in step["checks"]:
        if c["type"] == "array":
            r = compare(os.path.join(ws, c["file"]), os.path.join(ref, c["file"]),
                        c.get("sig_digits", 4), c.get("zero_floor", 1e-9))
            results.append((c["file"], r["passed"], r["report"]))
        elif c["type"] == "text":
            path = os.path.join(ws, c["file"])
            text = open(path).read() if os.path.exists(path) else None
            ok = text is not None and all(re.search(ere_to_python(p), text) for p in c["patterns"])
            results.append((c["file"], ok, "patterns"))
        else:
            p = run(render(c["run"], workspace=ws, reference_dir=ref), check=False)
            out = json.loads(p.stdout) if p.returncode == 0 else {}
            ok = p.returncode == 0 and all(
                k in out and out[k] >= b.get("min", -math.inf) and out[k] <= b.get("max", math.inf)
                for k, b in c["expect"].items())
            results.append((c["run"][1], ok, out))
    return results


@pytest.mark.parametrize("step", ["summarize_root", "create_numpy", "preprocess", "scores", "categorization"])
def test_reference_passes_its_own_checks(tiny, suite, step):
    for label, ok, detail in run_checks(suite, step, tiny["ref"], tiny["ref"]):
        assert ok, (label, detail)


# ------------------------------------------------------------- scripted answers

def staged_workspace(tmp_path, suite, step_name, ref):
    ws = tmp_path / "ws"
    for sub in ("arrays", "plots", "logs", "generated_code"):
        (ws / sub).mkdir(parents=True)
    step = next(s for s in suite["steps"] if s["name"] == step_name)
    for rel in step["stage"]:
        shutil.copy(os.path.join(ref, rel), ws / rel)
        os.chmod(ws / rel, 0o444)
    return str(ws)


def run_answer(tmp_path, suite, tiny, step, answer):
    ws = staged_workspace(tmp_path, suite, step, tiny["ref"])
    p = run([PY, os.path.join(ANSWERS, answer)], check=False, env={
        "LLM4HEP_DATA": tiny["data"], "LLM4HEP_WORKSPACE": ws, "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1"})    # OpenMP spin-waits collapse on a loaded machine
    return p, ws


@pytest.mark.parametrize("step, answer", [
    ("summarize_root", "summarize_root.py"), ("create_numpy", "create_numpy.py"),
    ("preprocess", "preprocess.py"), ("scores", "scores.py"), ("categorization", "categorization.py")])
def test_correct_answers_pass_the_checks(tmp_path, suite, tiny, step, answer):
    p, ws = run_answer(tmp_path, suite, tiny, step, answer)
    assert p.returncode == 0, p.stderr
    for label, ok, detail in run_checks(suite, step, ws, tiny["ref"]):
        assert ok, (label, detail)


def test_wrong_branch_answer_raises_key_error(tmp_path, suite, tiny):
    p, _ = run_answer(tmp_path, suite, tiny, "create_numpy", "create_numpy_wrong_branch.py")
    assert p.returncode != 0 and "KeyError" in p.stderr and "ph_pt" in p.stderr


@pytest.mark.parametrize("step, answer", [
    ("create_numpy", "create_numpy_off_by_one.py"), ("preprocess", "preprocess_wrong_cut.py"),
    ("categorization", "categorization_unsorted.py")])
def test_wrong_answers_run_but_fail_validation(tmp_path, suite, tiny, step, answer):
    p, ws = run_answer(tmp_path, suite, tiny, step, answer)
    assert p.returncode == 0, p.stderr
    results = run_checks(suite, step, ws, tiny["ref"])
    assert not all(ok for _, ok, _ in results), results


# ------------------------------------------------------------- end to end

def test_scripted_stories_end_to_end():
    """`llm4hep reference --check` (generating the data) and `run --validate`
    with the demo models. The sandbox runs code as an unprivileged user, so
    this uses its own searchable directory instead of pytest's (mode 700)."""
    import tempfile
    from pathlib import Path
    tmp_path = Path(tempfile.mkdtemp(prefix="llm4hep-hgg-e2e-"))
    try:
        os.chmod(tmp_path, 0o755)
        stories_end_to_end(tmp_path)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def stories_end_to_end(tmp_path):
    env = {**os.environ, "LLM4HEP_HGG_DATA": str(tmp_path / "data"), "LLM4HEP_HGG_REF": str(tmp_path / "ref"),
           "LLM4HEP_HGG_SIZE": "tiny"}
    p = subprocess.run([BIN, "reference", SUITE, "--check"], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert len(glob.glob(str(tmp_path / "data" / "*" / "*.h5"))) == 9
    cfg = tmp_path / "config.yml"
    cfg.write_text(f"""name: hgg-e2e
suite: {SUITE}
output: {tmp_path}/results.h5
scratch: {tmp_path}
max_iterations: 3
models: [scripted/careful]
endpoints:
  demo: {{provider: scripted, dir: {os.path.join(SUITE_DIR, 'scripted')}}}
model_defaults: {{endpoint: demo}}
""")
    stories = [("careful", "create_numpy", 1, "success", None, "2"),
               ("stubborn", "create_numpy", 1, "failed_execution", "wrong_branch", "3"),
               ("variable", "preprocess", 2, "failed_validation", "semantic", "1"),
               ("clumsy", "categorization", 1, "failed_validation", "function_calling", "3")]
    for model, step, trial, status, category, iterations in stories:
        p = subprocess.run([BIN, "run", str(cfg), "--validate", "--step", step, "--model", f"scripted/{model}",
                            "--trial", str(trial)], capture_output=True, text=True, env=env, timeout=300)
        out = p.stdout + p.stderr
        assert re.search(rf"^status: {status}$", out, re.M), (model, out[-3000:])
        assert re.search(rf"^iterations: {iterations}\b", out, re.M), (model, out[-3000:])
        if category:
            assert re.search(rf"^error_category: {category}$", out, re.M), (model, out[-3000:])
