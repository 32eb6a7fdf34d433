"""scripts/plots.py on a real campaign: every figure is a valid PDF and PNG
of sensible size, summary.csv holds the report's numbers, and the HTML
report, loaded in headless Chromium, shows the heat map decoded and opens a
task's transcript."""
import math
import os
import re
import shutil
import struct
import subprocess
import sys

import h5py
import pandas as pd
import pytest

from campaign_util import BIN, SRC, make_campaign, output_of, run_sweep, sandbox_tmp

PY = os.environ.get("LLM4HEP_PYTHON", "/usr/bin/python3")
PLOTS = os.path.join(SRC, "scripts", "plots.py")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TOOLS = os.environ.get("LLM4HEP_TOOLS_DIR") or os.path.join(
    os.environ.get("LLM4HEP_BUILD_DIR", "build"), "tests", "tools")
FIGURES = ("success_heatmap", "iterations_by_step", "api_calls_by_step_model", "cost_per_step",
           "error_distribution_by_model", "error_heatmap", "errors_by_step")


def wilson(k, n, z=1.96):
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


@pytest.fixture(scope="module")
def campaign():
    cfg = make_campaign(None, ("scripted/good", "scripted/wrong"), trials=2, name="html-test")
    r = run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    return output_of(cfg)


@pytest.fixture(scope="module")
def plotted(campaign):
    out = os.path.join(sandbox_tmp(), "figs")
    page = os.path.join(out, "report.html")
    r = subprocess.run([PY, PLOTS, campaign, "--out", out, "--html", page], capture_output=True,
                       text=True, timeout=300)
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
    assert re.search(r'id="figures-ok"[^>]*>7<', dom), dom[:2000]
    assert 'data-figures-loaded="7"' in dom
    heat = re.search(r'<figure id="fig-success_heatmap"><img alt="success_heatmap" '
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
