"""scripts/plots.py against independent computations from real results
files: the tables' numbers recomputed here in plain Python from what h5py
reads (no pandas grouping, no code shared with plots.py)."""
import json
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

from conftest import BIN, PY, SCRIPTS, SRC, TOOLS

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


# ------------------------------------- the status and category lists from C

def c_lists():
    """The status names in enum order, which are infrastructure, and the error
    categories, parsed from the C sources (core.h's enum, record.c's tables)."""
    core = open(os.path.join(SRC, "include", "llm4hep", "core.h")).read()
    rec = open(os.path.join(SRC, "src", "core", "record.c")).read()
    enum = re.search(r"typedef enum \{(.*?)\} l4h_status;", core, re.S).group(1)
    order = [m for m in re.findall(r"^\s*(L4H_STATUS_\w+)", enum, re.M) if m != "L4H_STATUS_COUNT"]
    table = dict((k, (n, i == "1")) for k, n, i in
                 re.findall(r'\[(L4H_STATUS_\w+)\]\s*=\s*\{"(\w+)",\s*([01])\}', rec))
    names = [table[k][0] for k in order]
    infra = [table[k][0] for k in order if table[k][1]]
    cats = re.search(r"l4h_categories\[L4H_N_CATEGORIES\]\s*=\s*\{(.*?)\};", rec, re.S).group(1)
    return names, infra, re.findall(r'"(\w+)"', cats)


def attrs_of(path):
    with h5py.File(path, "r") as f:
        return {k: [str(x) for x in f.attrs[k]] for k in ("statuses", "infra_statuses",
                                                           "error_categories")}


def test_the_file_carries_the_c_lists_and_the_scripts_read_them(tmp_path):
    """The results file's root attributes are the C definitions (the header
    and record.c parsed, and what the binary prints as status_kinds); the
    scripts read them from the file and keep no copy of their own."""
    import llm4hep
    path = synth(tmp_path / "v.h5", 20, 2)
    names, infra, cats = c_lists()
    a = attrs_of(path)
    assert a == {"statuses": names, "infra_statuses": infra, "error_categories": cats}
    rep = subprocess.run([BIN, "report", path, "--format", "json"], capture_output=True,
                         text=True, timeout=120)
    assert rep.returncode == 0, rep.stderr
    kinds = json.loads(rep.stdout)["status_kinds"]
    assert list(kinds) == names and [s for s, k in kinds.items() if k == "infrastructure"] == infra
    r = llm4hep.open_results(path)
    assert (list(r.statuses), list(r.infra_statuses), list(r.error_categories)) == (names, infra, cats)
    # no copy left in the scripts: plots.py names no status or category, and
    # llm4hep.py only in its frozen fallback for files older than the attributes
    plots_src = open(PLOTS).read()
    assert not [n for n in names[1:] + cats[:-1] if f'"{n}"' in plots_src]
    reader = open(os.path.join(SCRIPTS, "llm4hep.py")).read()
    outside = re.sub(r"^LEGACY_\w+ = \(.*?\)$", "", reader, flags=re.S | re.M)
    assert not [n for n in names[1:] + cats if f'"{n}"' in outside]


def test_a_status_added_in_c_reaches_the_scripts_through_the_file(tmp_path):
    """A file as a build with one more infrastructure status and one more
    error category writes it: the scripts, unedited, leave the new status
    out of the rates, count it as infrastructure, and keep the new category."""
    import llm4hep
    import plots
    path = synth(tmp_path / "n.h5", 120, 5)
    with h5py.File(path, "r+") as f:
        for k, extra in (("statuses", "error_quota"), ("infra_statuses", "error_quota"),
                         ("error_categories", "novel_cause")):
            f.attrs[k] = [str(x) for x in f.attrs[k]] + [extra]
        t = f["tasks"][:]
        finals = [i for i in range(len(t)) if t["final"][i]]
        quota = finals[::7]
        for i in quota:
            t["status"][i], t["success"][i] = b"error_quota", 0
        novel = [i for i in finals if i not in quota and t["status"][i] == b"failed_validation"][:3]
        for i in novel:
            t["error_category"][i] = b"novel_cause"
        f["tasks"][...] = t
        quota_ids = {int(t["task_id"][i]) for i in quota}
        novel_ids = {int(t["task_id"][i]) for i in novel}
    r = llm4hep.open_results(path)
    assert "error_quota" in r.infra_statuses and "error_quota" not in r.model_statuses
    assert r.summary().tasks.sum() == len(finals) - len(quota)
    assert "status error_quota (infrastructure)" in r.transcript(min(quota_ids))
    out = tmp_path / "figs"
    plot(path, "--out", out)
    s = pd.read_csv(out / "summary.csv")
    total = s[(s.model == "(all)") & (s.step == "(all)")].iloc[0]
    rows = final_rows(path)
    assert total.trials == len(finals) - len(quota)
    assert total.infra == sum(r["status"] in {"error_quota", *INFRA} for r in rows) >= len(quota)
    df, _ = plots.load([path])
    assert plots.categories(df)[-2:] == ["novel_cause", "uncategorised"]
    assert set(df[df.task_id.isin(novel_ids)].category) == {"novel_cause"}
    assert df[df.task_id.isin(quota_ids)].infra.all()


def test_files_without_the_lists_or_with_damaged_ones(tmp_path):
    """A file written before the attributes existed reads with the frozen
    legacy lists (documented); one holding only some, or not lists of
    names, is refused naming the file."""
    import llm4hep
    path = synth(tmp_path / "old.h5", 20, 4)
    with h5py.File(path, "r+") as f:
        for k in ("statuses", "infra_statuses", "error_categories"):
            del f.attrs[k]
    r = llm4hep.open_results(path)
    assert (r.statuses, r.infra_statuses, r.error_categories) == (
        llm4hep.LEGACY_STATUSES, llm4hep.LEGACY_INFRA_STATUSES, llm4hep.LEGACY_ERROR_CATEGORIES)
    plot(path, "--out", tmp_path / "figs")
    for damage in ({"statuses": ["success"]}, {"statuses": 3, "infra_statuses": ["x"],
                                                "error_categories": ["y"]}):
        bad = synth(tmp_path / f"bad{len(damage)}.h5", 5, 4)
        with h5py.File(bad, "r+") as f:
            for k in ("statuses", "infra_statuses", "error_categories"):
                del f.attrs[k]
            for k, v in damage.items():
                f.attrs[k] = v
        p = subprocess.run([PY, PLOTS, bad, "--out", tmp_path / "x"], capture_output=True,
                           text=True, timeout=120)
        assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
        assert bad in p.stderr and "damaged file" in p.stderr


def test_a_file_an_older_build_began_gets_the_lists_at_the_next_checkpoint(tmp_path):
    """The store writes the lists at every checkpoint: a file without them
    (begun by a build before them) carries this build's once it writes to it."""
    path = synth(tmp_path / "r.h5", 10, 1)
    with h5py.File(path, "r+") as f:
        for k in ("statuses", "infra_statuses", "error_categories"):
            del f.attrs[k]
    synth(path, 10, 2)  # the same campaign resumed: nothing new, one checkpoint on close
    names, infra, cats = c_lists()
    assert attrs_of(path) == {"statuses": names, "infra_statuses": infra, "error_categories": cats}
