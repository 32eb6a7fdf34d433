"""scripts/plots.py (and `llm4hep plots`) on a real campaign: every figure is
a valid PDF and PNG of sensible size, summary.csv and
five_step_summary_stats.csv hold the report's numbers (the cost split into
input and output by the config's prices), the HTML report, loaded in
headless Chromium, shows the heat map decoded and opens a task's transcript,
and names from the campaign reach the page escaped once."""
import math
import os
import re
import shutil
import struct
import subprocess

import h5py
import pandas as pd
import pytest

from campaign_util import BIN, SRC, make_campaign, output_of, run_sweep, sandbox_tmp
from conftest import PY, TOOLS

PLOTS = os.path.join(SRC, "scripts", "plots.py")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FIGURES = ("1_success_rate_heatmap", "2_agent_work_line_plot", "3_api_calls_line_plot",
           "4_cost_per_step", "error_distribution_by_model", "error_heatmap_by_model",
           "error_categories_top_models", "errors_by_step")
PRICE_IN, PRICE_OUT = 2.0, 10.0  # scripted/good's price per million tokens; scripted/wrong has none


def wilson(k, n, z=1.96):
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


@pytest.fixture(scope="module")
def campaign():
    cfg = make_campaign(None, ("scripted/good", "scripted/wrong"), trials=2, name="html-test",
                        extra=f"prices: {{scripted/good: {{input_per_mtok: {PRICE_IN}, "
                              f"output_per_mtok: {PRICE_OUT}}}}}\n")
    r = run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    return output_of(cfg)


@pytest.fixture(scope="module")
def plotted(campaign):
    out = os.path.join(sandbox_tmp(), "figs")
    page = os.path.join(out, "report.html")
    # through the verb, with a python3 first on PATH that cannot even start:
    # the verb uses the Python the build found, whatever the user's PATH holds
    fake = os.path.join(sandbox_tmp(), "bin")
    os.makedirs(fake)
    with open(os.path.join(fake, "python3"), "w") as f:
        f.write("#!/bin/sh\necho 'No module named matplotlib' >&2\nexit 1\n")
    os.chmod(os.path.join(fake, "python3"), 0o755)
    env = dict(os.environ, PATH=fake + ":" + os.environ.get("PATH", ""))
    r = subprocess.run([BIN, "plots", campaign, "--out", out, "--html", page], capture_output=True,
                       text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    return out, page


def png_size(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    assert data[12:16] == b"IHDR" and data.rstrip().endswith(b"IEND\xaeB`\x82")
    return struct.unpack(">II", data[16:24])


def test_every_figure_is_a_valid_pdf_and_png(plotted):
    out, _ = plotted
    for name in FIGURES:
        pdf = open(os.path.join(out, name + ".pdf"), "rb").read()
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF"), name
        assert 5_000 < len(pdf) < 2_000_000, (name, len(pdf))
        w, h = png_size(os.path.join(out, name + ".png"))
        assert 400 <= w <= 4000 and 250 <= h <= 4000, (name, w, h)
        assert 5_000 < os.path.getsize(os.path.join(out, name + ".png")) < 3_000_000


def test_summary_csv_matches_the_rows(campaign, plotted):
    out, _ = plotted
    s = pd.read_csv(os.path.join(out, "summary.csv"))
    with h5py.File(campaign, "r") as f:
        t = pd.DataFrame(f["tasks"][:])
    t = t[t.final == 1]
    for row in s.itertuples():
        sel = t
        if row.model != "(all)":
            sel = sel[sel.supervisor == row.model.encode()]
        if row.step != "(all)":
            sel = sel[sel.step == row.step.encode()]
        n, k = len(sel), int(sel.success.sum())
        assert (row.trials, row.successes) == (n, k)
        lo, hi = wilson(k, n)
        assert row.wilson_lo == pytest.approx(lo) and row.wilson_hi == pytest.approx(hi)
        assert row.prompt_tokens == int(sel.prompt_tokens.sum())
    assert len(s) == 4 + 2 + 2 + 1


def test_five_step_summary_and_the_cost_split(campaign, plotted):
    out, _ = plotted
    s = pd.read_csv(os.path.join(out, "five_step_summary_stats.csv")).set_index("model")
    with h5py.File(campaign, "r") as f:
        t = pd.DataFrame(f["tasks"][:])
        calls = pd.DataFrame(f["calls"][:])
    t = t[t.final == 1]
    assert list(s.index) == ["scripted/good", "scripted/wrong"]
    for model, row in s.iterrows():
        sel = t[t.supervisor == model.encode()]
        rates = []
        for step in (b"double", b"square"):
            st = sel[sel.step == step]
            name = step.decode()
            assert (row[f"{name}_trials"], row[f"{name}_successes"]) == (len(st), st.success.sum())
            rates.append(st.success.mean())
        assert row.mean_rate == pytest.approx(sum(rates) / 2)
        assert row.mean_api_calls == pytest.approx(sel.api_calls.mean())
    good_calls = calls[calls.task_id.isin(t[t.supervisor == b"scripted/good"].task_id)]
    assert len(good_calls) > 0
    want_in = good_calls.prompt_tokens.sum() * PRICE_IN / 1e6
    want_out = good_calls.completion_tokens.sum() * PRICE_OUT / 1e6
    good = s.loc["scripted/good"]
    assert good.input_cost_usd == pytest.approx(want_in, rel=1e-9)
    assert good.output_cost_usd == pytest.approx(want_out, rel=1e-9)
    assert good.cost_usd == pytest.approx(want_in + want_out, rel=1e-9)
    assert good.cost_unknown == 0
    # a scripted model without a price costs nothing (as the client counts it)
    wrong = s.loc["scripted/wrong"]
    assert wrong.cost_unknown == 0 and wrong.cost_usd == 0
    assert wrong.input_cost_usd == 0 and wrong.output_cost_usd == 0


def test_names_reach_the_page_escaped_once():
    import plots
    df = pd.DataFrame({"task_id": [1], "model": ["m/<script>alert(1)</script>"],
                       "step": ["a&b"], "trial": [1], "status": ["failed_validation"],
                       "category": ["other"], "infra": [False], "file": ["x.h5"]})
    page = plots.task_list(df, {"x.h5": None}, max_transcripts=0)
    assert "<script>" not in page
    assert "m/&lt;script&gt;alert(1)&lt;/script&gt; · a&amp;b" in page
    assert "&amp;lt;" not in page and "&amp;amp;" not in page
    assert '<span class="st-fail">failed_validation</span> (other)' in page


def test_the_verb_says_what_it_needs(tmp_path):
    r = subprocess.run([BIN, "plots", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("usage: llm4hep plots")
    assert "--out" in r.stdout and "five_step_summary_stats.csv" in r.stdout
    r = subprocess.run([BIN, "plots", str(tmp_path / "missing.h5"), "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "missing.h5: no such results file" in r.stderr
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5 at all")
    r = subprocess.run([BIN, "plots", str(bad), "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "bad.h5" in r.stderr and "Traceback" not in r.stderr


def chromium(*args):
    prof = os.path.join(sandbox_tmp(), "chromium-profile")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={prof}", "--virtual-time-budget=10000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


def test_html_in_a_browser_shows_the_heatmap_and_a_transcript(campaign, plotted):
    _, page = plotted
    text = open(page, encoding="utf-8").read()
    # self-contained: nothing fetched from anywhere
    assert not re.search(r'(src|href)="(https?:|//|file:)', text)
    with h5py.File(campaign, "r") as f:
        t = f["tasks"][:]
    wrong = [r for r in t if r["supervisor"] == b"scripted/wrong" and r["step"] == b"double"][0]
    tid = int(wrong["task_id"])
    r = chromium("--dump-dom", f"file://{page}#task-{tid}")
    assert r.returncode == 0, r.stderr[-2000:]
    dom = r.stdout
    # the script ran after load and found every figure decoded by the browser
    assert re.search(r'id="figures-ok"[^>]*>8<', dom), dom[:2000]
    assert 'data-figures-loaded="8"' in dom
    heat = re.search(r'<figure id="fig-1_success_rate_heatmap"><img alt="1_success_rate_heatmap" '
                     r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', dom)
    assert heat and len(heat.group(1)) > 10_000
    # the task named in the URL is open, holding its transcript
    m = re.search(rf'<details id="task-{tid}" open="">(.*?)</details>', dom, re.S)
    assert m, f"task-{tid} not opened"
    body = m.group(1)
    assert f"Task {tid} (attempt 1, final)" in body and "failed_validation" in body
    assert "=== checks ===" in body and "pattern 1 '^42$' not found" in body
    # other tasks stay closed
    assert len(re.findall(r"<details[^>]* open=", dom)) == 1
    # the summary table is there with the numbers
    assert '<table id="summary">' in dom and "2/2" in dom and "0/2" in dom
    # and it renders: a screenshot is a real image
    shot = os.path.join(sandbox_tmp(), "shot.png")
    r = chromium("--window-size=1200,1600", f"--screenshot={shot}", f"file://{page}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert png_size(shot) == (1200, 1600) and os.path.getsize(shot) > 50_000


def test_merged_files_infra_and_annotation_source(campaign, tmp_path):
    synth = str(tmp_path / "synth.h5")
    r = subprocess.run([os.path.join(TOOLS, "store_synth"), synth, "--tasks", "120", "--seed", "5",
                        "--text-kb", "1", "--checkpoint-every", "0"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "figs"
    page = tmp_path / "r.html"
    r = subprocess.run([PY, PLOTS, campaign, synth, "--out", out, "--html", page,
                        "--include-infra", "--errors-from", "llm:nobody", "--max-transcripts", "5"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    s = pd.read_csv(out / "summary.csv")
    total = s[(s.model == "(all)") & (s.step == "(all)")].iloc[0]
    assert total.trials == 8 + 120
    text = page.read_text()
    assert text.count('<details id="task-') == 128
    assert text.count("(not embedded: more than 5 tasks") == 123
    # transcripts from `llm4hep show`: code versions of the 6 tasks that wrote code
    r = subprocess.run([PY, PLOTS, campaign, "--out", out, "--html", page, "--llm4hep", BIN],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    text = page.read_text()
    assert text.count("~~~ code version 1:") == 6 and text.count("&gt;&gt;&gt; to the coder") >= 8
    r = subprocess.run([PY, PLOTS, str(tmp_path / "missing.h5"), "--out", out],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "missing.h5" in r.stderr
