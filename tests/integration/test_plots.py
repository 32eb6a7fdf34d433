"""scripts/plots.py against independent computations from real results
files: the tables' numbers recomputed here in plain Python from what h5py
reads (no pandas grouping, no code shared with plots.py)."""
import math
import os
import re
import subprocess
from collections import defaultdict
from html.parser import HTMLParser

import h5py
import pandas as pd
import pytest
import yaml

from conftest import BIN, PY, SCRIPTS, TOOLS

PLOTS = os.path.join(SCRIPTS, "plots.py")
INFRA = {"error_api", "error_sandbox", "error_internal", "interrupted"}


def synth(path, tasks, seed):
    r = subprocess.run([os.path.join(TOOLS, "store_synth"), str(path), "--tasks", str(tasks),
                        "--seed", str(seed), "--text-kb", "1", "--checkpoint-every", "0"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return str(path)


def with_infra_finals(path):
    """Make every 11th final task an infrastructure outcome (its retries
    exhausted), as a long campaign's file holds: store_synth retries them."""
    with h5py.File(path, "r+") as f:
        t = f["tasks"][:]
        finals = [i for i in range(len(t)) if t["final"][i]]
        for n, i in enumerate(finals[::11]):
            t["status"][i] = (b"error_api", b"error_sandbox", b"interrupted")[n % 3]
            t["success"][i] = 0
        f["tasks"][...] = t
    return path


def plot(*args):
    r = subprocess.run([PY, PLOTS, *map(str, args)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def final_rows(path):
    """The final /tasks rows as dicts of Python values, and the run's prices."""
    with h5py.File(path, "r") as f:
        t = f["tasks"][:]
        calls = f["calls"][:]
        run = f["runs"][-1]
        o, n = int(run["config_off"]), int(run["config_len"])
        cfg = yaml.safe_load(f["text"][o:o + n].tobytes().decode()) or {}
    prices = {m: (float(p["input_per_mtok"]), float(p["output_per_mtok"]))
              for m, p in (cfg.get("prices") or {}).items()}
    by_task = defaultdict(list)
    for c in calls:
        by_task[int(c["task_id"])].append(c)
    rows = []
    for r in t:
        if not r["final"]:
            continue
        d = {k: (r[k].decode() if isinstance(r[k], bytes) else r[k].item()) for k in t.dtype.names}
        sup, cod = d["supervisor"], d["coder"]
        d["model"] = sup if sup == cod else f"{sup}+{cod}"
        # the cost split: each call's cost in the ratio of its tokens' prices;
        # unknown (None) when a call's cost is, or it costs without a price
        cin = cout = 0.0
        for c in by_task[d["task_id"]]:
            cost, model = float(c["cost_usd"]), c["model"].decode()
            if math.isnan(cost) or (model not in prices and cost != 0):
                cin = cout = None
                break
            pin, pout = prices.get(model, (0.0, 0.0))
            a, b = c["prompt_tokens"] * pin, c["completion_tokens"] * pout
            share = a / (a + b) if a + b > 0 else 0.5
            cin, cout = cin + cost * share, cout + cost * (1 - share)
        d["cin"], d["cout"] = cin, cout
        rows.append(d)
    return rows


def expected_five_step(rows, include_infra):
    steps = list(dict.fromkeys(r["step"] for r in rows))
    out = {}
    for m in sorted({r["model"] for r in rows}):
        mine = [r for r in rows if r["model"] == m and (include_infra or r["status"] not in INFRA)]
        e, rates = {}, []
        for s in steps:
            st = [r for r in mine if r["step"] == s]
            k = sum(r["success"] for r in st)
            e[f"{s}_trials"], e[f"{s}_successes"] = len(st), k
            e[f"{s}_rate"] = k / len(st) if st else math.nan
            if st:
                rates.append(k / len(st))
        e["mean_rate"] = sum(rates) / len(rates) if rates else math.nan
        e["mean_iterations"] = sum(r["iterations"] for r in mine) / len(mine) if mine else math.nan
        e["mean_api_calls"] = sum(r["api_calls"] for r in mine) / len(mine) if mine else math.nan
        e["cost_usd"] = math.fsum(r["cost_usd"] for r in mine if not math.isnan(r["cost_usd"]))
        e["cost_unknown"] = sum(math.isnan(r["cost_usd"]) for r in mine)
        e["input_cost_usd"] = math.fsum(r["cin"] for r in mine if r["cin"] is not None)
        e["output_cost_usd"] = math.fsum(r["cout"] for r in mine if r["cout"] is not None)
        out[m] = e
    return steps, out


def same(got, want):
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    if isinstance(want, int):
        return got == want
    return got == pytest.approx(want, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("include_infra", [False, True])
def test_five_step_summary_equals_an_independent_computation(tmp_path, include_infra):
    """A 300-task file with every status and unknown costs: each number of
    five_step_summary_stats.csv (and of summary.csv's per-model-and-step rows)
    equals the plain-Python count from the rows h5py reads."""
    path = with_infra_finals(synth(tmp_path / "s.h5", 300, 11))
    out = tmp_path / "figs"
    plot(path, "--out", out, *(["--include-infra"] if include_infra else []))
    rows = final_rows(path)
    assert {r["status"] for r in rows} & INFRA, "the file should hold infrastructure outcomes"
    steps, want = expected_five_step(rows, include_infra)
    five = pd.read_csv(out / "five_step_summary_stats.csv")
    assert list(five.model) == sorted(want)
    assert list(five.columns) == (["model"] + [f"{s}_{x}" for s in steps
                                               for x in ("trials", "successes", "rate")]
                                  + ["mean_rate", "mean_iterations", "mean_api_calls", "cost_usd",
                                     "input_cost_usd", "output_cost_usd", "cost_unknown"])
    for row in five.to_dict("records"):
        e = want[row["model"]]
        for col, v in e.items():
            assert same(row[col], v), (row["model"], col, row[col], v)
    assert five.cost_unknown.sum() > 0  # the unknown costs were exercised
    s = pd.read_csv(out / "summary.csv")
    for row in s[(s.model != "(all)") & (s.step != "(all)")].to_dict("records"):
        e = want[row["model"]]
        assert (row["trials"], row["successes"]) == (e[f"{row['step']}_trials"],
                                                     e[f"{row['step']}_successes"])
        infra = sum(r["status"] in INFRA for r in rows
                    if r["model"] == row["model"] and r["step"] == row["step"])
        assert row["infra"] == infra
    total = s[(s.model == "(all)") & (s.step == "(all)")].iloc[0]
    counted = [r for r in rows if include_infra or r["status"] not in INFRA]
    assert total.trials == len(counted) and total.successes == sum(r["success"] for r in counted)
    assert total.prompt_tokens == sum(r["prompt_tokens"] for r in counted)
    assert total.infra == sum(r["status"] in INFRA for r in rows)


# ------------------------------------------------ hostile names in the page

HOSTILE_MODEL = "m/<script>alert(1)</script>&amp;"
MATH_MODEL = "g/$\\frac{1}{0$ |x|"          # mathtext that cannot parse, and pipes
HOSTILE_STEP = "sc<b>ores</b>&lt;"
HOSTILE_STATUS = "failed_<x>&amp;"          # not a status llm4hep writes: shown as written
HOSTILE_CAMPAIGN = "c<img src=x onerror=alert(2)>"


def hostile_file(path):
    """A real results file whose names are markup: two models, a step, the
    campaign and one final row's status."""
    with h5py.File(path, "r+") as f:
        t = f["tasks"][:]
        names = {b"openai/gpt-5": HOSTILE_MODEL.encode(),
                 b"google/gemini-2.5-pro": MATH_MODEL.encode()}
        for i in range(len(t)):
            if t["supervisor"][i] in names:
                t["supervisor"][i] = t["coder"][i] = names[t["supervisor"][i]]
            if t["step"][i] == b"scores":
                t["step"][i] = HOSTILE_STEP.encode()
        fails = [i for i in range(len(t)) if t["final"][i] and t["status"][i] == b"failed_validation"]
        t["status"][fails[0]] = HOSTILE_STATUS.encode()
        t["error_category"][fails[1]] = b"semantic"
        f["tasks"][...] = t
        f.attrs["campaign"] = HOSTILE_CAMPAIGN
    return path


class Page(HTMLParser):
    """Every start tag with its attributes, and the text of each <summary>,
    <td>, <title> and files-list <li> (entities decoded: what a reader sees)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.texts, self._open = [], defaultdict(list), []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("summary", "td", "title", "li", "h1"):
            self._open.append([tag, ""])

    def handle_endtag(self, tag):
        if self._open and self._open[-1][0] == tag:
            t, text = self._open.pop()
            self.texts[t].append(text)

    def handle_data(self, data):
        for o in self._open:
            o[1] += data


def test_hostile_names_reach_the_page_and_the_markdown_literally(tmp_path):
    """Names from a results file are text, escaped exactly once where they
    enter HTML (plots.py) or markdown (`llm4hep report --format markdown`):
    the page shows them as written and holds no element they spell; a
    status or category is not escaped twice; mathtext in a name neither
    crashes the figures nor is rendered."""
    path = hostile_file(synth(tmp_path / "r<&>.h5", 60, 3))
    page = tmp_path / "page.html"
    plot(path, "--out", tmp_path / "figs", "--html", page)
    p = Page()
    p.feed(page.read_text(encoding="utf-8"))
    tags = [t for t, _ in p.tags]
    assert tags.count("script") == 1  # the page's own
    assert not {"b", "i", "x"} & set(tags)
    assert [t for t, a in p.tags if t == "img"] == ["img"] * 8
    assert not any(k.startswith("on") for _, a in p.tags for k in a)
    assert p.texts["title"] == [f"llm4hep report: {HOSTILE_CAMPAIGN}"]
    assert p.texts["h1"] == [f"llm4hep report: {HOSTILE_CAMPAIGN}"]
    assert any(li.startswith(f"{path}: campaign {HOSTILE_CAMPAIGN}, ") for li in p.texts["li"])
    # every task's summary line, rebuilt from the file's rows
    want = set()
    cats = {"semantic", "function_calling", "file_not_found", "wrong_branch", "api_error",
            "data_quality", "other"}
    for r in final_rows(path):
        cat = r["error_category"] if r["error_category"] in cats else \
            "uncategorised" if not r["error_category"] else "other"
        want.add(f"#{r['task_id']} {r['model']} · {r['step']} · trial {r['trial']} · {r['status']}"
                 + (f" ({cat})" if r["status"] != "success" else ""))
    assert set(p.texts["summary"]) == want
    assert any(HOSTILE_MODEL in s and HOSTILE_STEP in s for s in want)
    assert any(f"· {HOSTILE_STATUS} (" in s for s in p.texts["summary"])
    assert any(s.endswith("· failed_validation (semantic)") for s in p.texts["summary"])
    assert {HOSTILE_MODEL, MATH_MODEL, HOSTILE_STEP} <= set(p.texts["td"])
    # the same file through the C report's markdown: escaped once, one cell per name
    r = subprocess.run([BIN, "report", path, "--format", "markdown"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    md = r.stdout
    assert not re.search(r"(?<!\\)[<&]", md), "markup or an entity left unescaped"
    assert "m/\\<script\\>alert(1)\\</script\\>\\&amp;" in md
    assert "campaign c\\<img src=x onerror=alert(2)\\>" in md
    # each table's rows have as many cell separators as its header: no name split a cell
    tables, cur = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("| "):
            cur.append(len(re.findall(r"(?<!\\)\|", line)))
        elif cur:
            tables.append(cur)
            cur = []
    assert tables and all(len(set(t)) == 1 for t in tables), tables
    assert MATH_MODEL.replace("\\", "\\\\").replace("|", "\\|") in md
