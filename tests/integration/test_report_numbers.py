"""`llm4hep report` and `show` on a real campaign with known outcomes: every
number (rates, Wilson bounds, pass@k, pass^k, McNemar p-values, tokens,
costs) is recomputed here from the h5py rows and must agree; the CSV loads
in pandas with the original framework's columns; merged files, --by,
--include-infra, markdown, and reading a file a campaign is still writing."""
import json
import math
import os
import shutil
import subprocess
import time
from math import comb

import h5py
import numpy as np
import pandas as pd
import pytest

from campaign_util import BIN, FIXTURE, make_campaign, output_of, run_sweep, sandbox_tmp

from llm_testkit import LLMServer

from conftest import TOOLS
INFRA = {"error_api", "error_sandbox", "error_internal", "interrupted"}

# scripted/mixed: trial 2 of double writes 41, trial 3 of square writes no code
MIXED = """\
usage: {prompt_tokens: 90, completion_tokens: 15}
steps:
  double:
    supervisor: ["Double it.\\nVERDICT: CONTINUE", "Correct.\\nVERDICT: DONE"]
    coder: [{code_file: answers/double.py}]
  square:
    supervisor: ["Square it.\\nVERDICT: CONTINUE", "Correct.\\nVERDICT: DONE"]
    coder: [{code_file: answers/square.py}]
trials:
  "2": {double: {coder: [{code_file: answers/double_wrong.py}]}}
  "3": {square: {coder: [{text: "I would rather not."}]}}
"""
PRICES = """prices: {"scripted/good": {input_per_mtok: 3.0, output_per_mtok: 15.0},
         "scripted/mixed": {input_per_mtok: 1.25, output_per_mtok: 10.0}}
"""
MODELS = ("scripted/good", "scripted/wrong", "scripted/mixed")


def wilson(k, n, z=1.96):
    if n == 0:
        return 0.0, 1.0
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def pass_at_k(n, c, k):
    return 1 - comb(n - c, k) / comb(n, k)


def pass_hat_k(n, c, k):
    return comb(c, k) / comb(n, k)


def mcnemar(b, c):
    m = b + c
    if m == 0:
        return 1.0
    return min(1.0, 2 * sum(comb(m, i) for i in range(min(b, c) + 1)) / 2 ** m)


def frame(h5):
    with h5py.File(h5, "r") as f:
        df = pd.DataFrame(f["tasks"][:])
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].str.decode("utf-8")
    df["model"] = np.where(df.supervisor == df.coder, df.supervisor, df.supervisor + "+" + df.coder)
    return df


def report(*args, check=True):
    r = subprocess.run([BIN, "report", *map(str, args)], capture_output=True, text=True, timeout=60)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def report_json(*args):
    return json.loads(report(*args, "--format", "json").stdout)


@pytest.fixture(scope="module")
def campaign():
    """good, wrong, mixed through the scripted backend, and scripted/broken
    through the HTTP test server answering every chat request with a 500, so
    its tasks end as error_api (no infra retries)."""
    sdir = os.path.join(sandbox_tmp(), "served")
    shutil.copytree(os.path.join(FIXTURE, "scripted"), sdir)
    shutil.copy(os.path.join(sdir, "good.yml"), os.path.join(sdir, "broken.yml"))
    with LLMServer(scripted_dir=sdir) as srv:
        srv.faults([], default={"fault": "status", "status": 500})
        cfg = make_campaign(
            None, MODELS + ("scripted/broken",), trials=3, name="report-test",
            endpoints="{demo: {provider: scripted, dir: scripted}, "
                      f"http: {{base_url: '{srv.base_url}'}}}}",
            extra=PRICES + 'models_config: {"scripted/broken": {endpoint: http}}\n'
                           "retry: {max_attempts: 1, base_s: 0.1, max_s: 0.1}\n"
                           "infra_retries: 0\n")
        with open(os.path.join(os.path.dirname(cfg), "scripted", "mixed.yml"), "w") as f:
            f.write(MIXED)
        r = run_sweep(cfg, 3)
    assert r.returncode == 0, r.stdout + r.stderr
    return output_of(cfg)


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """A store_synth campaign: every status, infrastructure finals included."""
    out = str(tmp_path_factory.mktemp("synth") / "synth.h5")
    r = subprocess.run([os.path.join(TOOLS, "store_synth"), out, "--tasks", "300", "--seed", "7",
                        "--text-kb", "1", "--checkpoint-every", "0"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out


def check_groups(js, df, include_infra=False):
    """Every group of a --by model,step report against pandas."""
    final = df[df.final == 1]
    counted = final if include_infra else final[~final.status.isin(INFRA)]
    seen = 0
    for g in js["groups"] + js["totals"]:
        sel = counted
        allrows = final
        if g["model"] is not None:
            sel, allrows = sel[sel.model == g["model"]], allrows[allrows.model == g["model"]]
        if g["step"] is not None:
            sel, allrows = sel[sel.step == g["step"]], allrows[allrows.step == g["step"]]
        n, k = len(sel), int(sel.success.sum())
        assert (g["trials"], g["successes"]) == (n, k), g
        lo, hi = wilson(k, n)
        assert g["wilson_lo"] == pytest.approx(lo, abs=1e-12)
        assert g["wilson_hi"] == pytest.approx(hi, abs=1e-12)
        if n:
            assert g["rate"] == pytest.approx(k / n)
            assert g["mean_iterations"] == pytest.approx(sel.iterations.mean())
            assert g["mean_wall_s"] == pytest.approx(sel.wall_s.mean())
        assert g["api_calls"] == int(sel.api_calls.sum())
        assert g["prompt_tokens"] == int(sel.prompt_tokens.sum())
        assert g["completion_tokens"] == int(sel.completion_tokens.sum())
        assert g["cost_usd"] == pytest.approx(float(np.nansum(sel.cost_usd)), abs=1e-12)
        assert g["cost_unknown"] == int(sel.cost_usd.isna().sum())
        assert g["infra"] == int(allrows.status.isin(INFRA).sum())
        seen += 1
    return seen


def test_numbers_match_an_independent_computation(campaign):
    df = frame(campaign)
    final = df[df.final == 1]
    assert len(final) == 24
    assert (final[final.model == "scripted/broken"].status == "error_api").all()
    # the outcomes the scripts imply
    by = final.groupby(["model", "step"]).success.sum().to_dict()
    assert by == {("scripted/good", "double"): 3, ("scripted/good", "square"): 3,
                  ("scripted/wrong", "double"): 0, ("scripted/wrong", "square"): 0,
                  ("scripted/mixed", "double"): 2, ("scripted/mixed", "square"): 2,
                  ("scripted/broken", "double"): 0, ("scripted/broken", "square"): 0}
    js = report_json(campaign)
    assert js["final_tasks"] == 24 and js["by"] == ["model", "step"]
    assert check_groups(js, df) == 8 + 4 + 2 + 1
    # infrastructure outcomes are apart: broken has 0 counted trials, 3 infra per step
    g = {(x["model"], x["step"]): x for x in js["groups"]}
    assert g[("scripted/broken", "double")]["trials"] == 0
    assert g[("scripted/broken", "double")]["infra_statuses"]["error_api"] == 3
    js_inf = report_json(campaign, "--include-infra")
    assert check_groups(js_inf, df, include_infra=True) == 8 + 4 + 2 + 1
    # prices: good and mixed known, wrong unknown
    g = {(x["model"], x["step"]): x for x in js["groups"]}
    good = final[final.model == "scripted/good"]
    expect = float((good.prompt_tokens * 3.0 + good.completion_tokens * 15.0).sum()) / 1e6
    assert sum(g[("scripted/good", s)]["cost_usd"] for s in ("double", "square")) == \
        pytest.approx(expect, rel=1e-9)
    assert expect > 0
    # a scripted model without a price costs nothing (llm.h); unknown prices are
    # NaN and counted apart (the synthetic file below has some)
    assert g[("scripted/wrong", "double")]["cost_usd"] == 0
    assert g[("scripted/wrong", "double")]["cost_unknown"] == 0
    # pass@k and pass^k
    for p in js["pass_at_k"]:
        if p["step"] is None:
            continue
        sel = final[(final.model == p["model"]) & (final.step == p["step"])]
        n, c = len(sel), int(sel.success.sum())
        assert (p["trials"], p["successes"]) == (n, c)
        assert p["pass_at_k"] == pytest.approx([pass_at_k(n, c, k) for k in range(1, n + 1)])
        assert p["pass_hat_k"] == pytest.approx([pass_hat_k(n, c, k) for k in range(1, n + 1)])
    mixed = [p for p in js["pass_at_k"] if p["model"] == "scripted/mixed" and p["step"] is None][0]
    assert mixed["pass_at_k"] == pytest.approx([2 / 3, 1.0, 1.0])
    assert mixed["pass_hat_k"] == pytest.approx([2 / 3, 1 / 3, 0.0])
    # paired comparisons: every pair of the four models, Holm over six
    cmps = {(c["a"], c["b"]): c for c in js["comparisons"]}
    assert len(cmps) == 6  # broken has no counted task: pairs with it share nothing
    assert all(c["shared"] == 0 and c["p_value"] == 1 for k, c in cmps.items()
               if "scripted/broken" in k)
    raw = {}
    for (a, b), c in cmps.items():
        counted = final[~final.status.isin(INFRA)]
        A = counted[counted.model == a].set_index(["step", "trial"]).success
        B = counted[counted.model == b].set_index(["step", "trial"]).success
        both = A.index.intersection(B.index)
        oa = int(((A[both] == 1) & (B[both] == 0)).sum())
        ob = int(((A[both] == 0) & (B[both] == 1)).sum())
        assert (c["shared"], c["only_a"], c["only_b"]) == (len(both), oa, ob)
        assert c["p_value"] == pytest.approx(mcnemar(oa, ob))
        raw[(a, b)] = mcnemar(oa, ob)
    order = sorted(raw, key=raw.get)
    run = 0
    for i, key in enumerate(order):
        run = max(run, min(1.0, (len(order) - i) * raw[key]))
        assert cmps[key]["p_holm"] == pytest.approx(run)
    # good vs wrong: 6 discordant of 6 -> p = 2/64
    assert cmps[("scripted/good", "scripted/wrong")]["p_value"] == pytest.approx(1 / 32)
    # one pair asked for: no Holm adjustment, a verdict
    one = report_json(campaign, "--compare", "scripted/good,scripted/wrong")["comparisons"]
    assert len(one) == 1 and one[0]["better"] == "a" and one[0]["p_value"] == pytest.approx(1 / 32)


def test_table_and_markdown_show_the_same_numbers(campaign):
    lo, hi = wilson(2, 3)
    ci = f"[{100 * lo:.1f}%, {100 * hi:.1f}%]"
    want = ["scripted/mixed", "double", "2/3", "66.7%", ci]
    out = report(campaign).stdout
    rows = [l.split("  ") for l in out.splitlines()]
    rows = [[c.strip() for c in r if c.strip()] for r in rows]
    assert any(r[:5] == want for r in rows), out
    assert "pass@3" in out and "pass^3" in out and "exact McNemar" in out
    assert "Infrastructure outcomes" in out
    md = report(campaign, "--format", "markdown").stdout
    assert md.startswith("# llm4hep report")
    cells = [[c.strip() for c in l.strip().strip("|").split("|")] for l in md.splitlines()
             if l.startswith("|")]
    assert any(r[:5] == want for r in cells), md
    assert all(len(r) == len(cells[0]) for r in cells[:3])


def test_csv_has_the_original_columns(campaign, tmp_path):
    csv = tmp_path / "results_summary.csv"
    report(campaign, "--csv", csv)
    df = pd.read_csv(csv)
    assert list(df.columns) == ["supervisor", "coder", "step", "success", "iterations", "duration",
                                "API_calls", "tokens", "errors", "error_descriptions"]
    h = frame(campaign)
    final = h[h.final == 1]
    assert len(df) == len(final) == 24
    assert df.success.dtype == bool and int(df.success.sum()) == int(final.success.sum())
    assert int(df.tokens.sum()) == int((final.prompt_tokens + final.completion_tokens).sum())
    assert int(df.API_calls.sum()) == int(final.api_calls.sum())
    assert df.duration.sum() == pytest.approx(final.wall_s.sum(), abs=0.01)
    bad = df[~df.success]
    assert (bad.errors == 1).all() and (df[df.success].errors == 0).all()
    # one row per final task, in the file's order; descriptions start with the status
    assert list(df.step) == list(final.step) and list(df.coder) == list(final.coder)
    assert list(bad.error_descriptions.str.split(":").str[0]) == \
        list(final[final.success == 0].status)
    assert df[df.success].error_descriptions.isna().all()


def test_by_and_merge_and_infra(campaign, synth, tmp_path):
    # --by model: one row per model, the same numbers
    js = report_json(campaign, "--by", "model")
    assert js["by"] == ["model"] and len(js["groups"]) == 4
    g = {x["model"]: x for x in js["groups"]}
    assert (g["scripted/mixed"]["successes"], g["scripted/mixed"]["trials"]) == (4, 6)
    # a copy merged with its original counts once (with a warning)
    copy = tmp_path / "copy.h5"
    shutil.copy(campaign, copy)
    r = report(campaign, copy, "--format", "json")
    assert json.loads(r.stdout)["final_tasks"] == 24 and "more than one file" in r.stderr
    # two campaigns merge; each row keeps its file (--by file)
    js = report_json(campaign, synth, "--by", "file")
    sdf = frame(synth)
    files = {x["file"]: x for x in js["groups"]}
    assert set(files) == {campaign, synth}
    assert js["final_tasks"] == 24 + int((sdf.final == 1).sum())
    # the synthetic file: superseded attempts, every status, unknown prices
    assert (sdf.final == 0).any() and sdf[sdf.final == 1].cost_usd.isna().any()
    check_groups(report_json(synth), sdf)
    # 15 trials per model and step: the table shows a selection of k, the JSON every k
    out = report(synth).stdout.split("pass@k")[1]
    head = out.splitlines()[1].split()
    assert [h for h in head if h.startswith("pass@")] == \
        ["pass@1", "pass@2", "pass@3", "pass@5", "pass@10", "pass@15"], head
    js = report_json(synth)
    assert all(len(p["pass_at_k"]) == p.get("trials", 15) for p in js["pass_at_k"])
    # infrastructure finals in the table's own section
    out = report(campaign).stdout.split("Infrastructure outcomes")[1].split("pass@k")[0]
    rows = [l.split() for l in out.splitlines()]
    assert ["scripted/broken", "double", "3", "0", "0", "0"] in rows, out


def test_bad_usage_is_a_clear_error(campaign, tmp_path):
    for args, what in ((["--by", "colour"], "--by colour"),
                       (["--format", "xml"], "--format xml"),
                       (["--compare", "scripted/good,nobody"], "--compare"),
                       (["--bogus"], "--bogus")):
        r = report(campaign, *args, check=False)
        assert r.returncode == 2 and what in r.stderr, r.stderr
    r = report(tmp_path / "missing.h5", check=False)
    assert r.returncode == 2 and "missing.h5" in r.stderr
    (tmp_path / "junk.h5").write_text("not hdf5")
    r = report(tmp_path / "junk.h5", check=False)
    assert r.returncode == 2 and "junk.h5" in r.stderr


def test_show_tells_the_story(campaign):
    df = frame(campaign)
    final = df[df.final == 1]
    row = final[(final.model == "scripted/mixed") & (final.step == "double") & (final.trial == 2)].iloc[0]
    by_name = subprocess.run([BIN, "show", campaign, "scripted/mixed/scripted/mixed/double/2"],
                             capture_output=True, text=True, timeout=60)
    assert by_name.returncode == 0, by_name.stderr
    by_id = subprocess.run([BIN, "show", campaign, str(row.task_id)], capture_output=True,
                           text=True, timeout=60)
    short = subprocess.run([BIN, "show", campaign, "scripted/mixed/double/2"], capture_output=True,
                           text=True, timeout=60)
    assert by_name.stdout == by_id.stdout == short.stdout
    out = by_name.stdout
    assert out.startswith(f"Task {row.task_id} ")
    assert "status failed_validation" in out
    # prompts, both agents, a code version, its run, the verdict, the checks
    for piece in ("the prompts:", "[system] (prompt)", ">>> to the coder", ">>> to the supervisor",
                  "~~~ code version 1:", "~~~ ran: exit 0", "verdict: CONTINUE", "verdict: DONE",
                  "=== checks ===", "[FAIL] text:answer.txt", "pattern 1 '^42$' not found"):
        assert piece in out, piece
    assert out.index("the prompts:") < out.index("~~~ code version 1") < out.index("=== checks ===")
    # unknown tasks and malformed specs
    for spec in ("scripted/mixed/scripted/mixed/double/9", "nobody/double/1", "double", "0"):
        r = subprocess.run([BIN, "show", campaign, spec], capture_output=True, text=True)
        assert r.returncode == 2 and spec in r.stderr, (spec, r.stderr)


def test_show_diffs_code_versions(tmp_path):
    """A coder whose code changes between iterations: version 2 is a diff."""
    cfg = make_campaign(None, ("scripted/fixer",), trials=1, name="diff-test")
    d = os.path.dirname(cfg)
    with open(os.path.join(d, "scripted", "fixer.yml"), "w") as f:
        f.write("steps:\n"
                "  double:\n"
                "    supervisor: ['Go.\\nVERDICT: CONTINUE', 'Wrong.\\nVERDICT: CONTINUE', 'Good.\\nVERDICT: DONE']\n"
                "    coder: [{code_file: answers/double_wrong.py}, {code_file: answers/double.py}]\n"
                "  square:\n"
                "    supervisor: ['Go.\\nVERDICT: CONTINUE', 'Good.\\nVERDICT: DONE']\n"
                "    coder: [{code_file: answers/square.py}]\n")
    r = run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    out = subprocess.run([BIN, "show", output_of(cfg), "scripted/fixer/double/1"],
                         capture_output=True, text=True).stdout
    assert "status success" in out
    a = open(os.path.join(d, "scripted", "answers", "double_wrong.py")).read().splitlines()
    b = open(os.path.join(d, "scripted", "answers", "double.py")).read().splitlines()
    assert "~~~ code version 2, diff to version 1:" in out
    assert "    --- version 1\n    +++ version 2\n    @@ " in out
    removed = [l for l in a if l not in b]
    added = [l for l in b if l not in a]
    assert removed and added
    for l in removed:
        assert "    -" + l in out
    for l in added:
        assert "    +" + l in out


def test_report_while_a_campaign_writes(tmp_path):
    """Reading during a campaign: every report sees a consistent checkpoint."""
    out = str(tmp_path / "live.h5")
    w = subprocess.Popen([os.path.join(TOOLS, "store_synth"), out, "--tasks", "200", "--seed", "3",
                          "--checkpoint-every", "2", "--sleep-ms", "10", "--text-kb", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen, deadline = [], time.time() + 120
        while w.poll() is None and time.time() < deadline:
            if os.path.exists(out):
                r = report(out, "--format", "json", check=False)
                if r.returncode == 0:
                    js = json.loads(r.stdout)
                    seen.append(js["final_tasks"])
                    # the groups cover every final row of that checkpoint
                    assert sum(g["trials"] + g["infra"] for g in js["groups"]) == js["final_tasks"]
                    if js["final_tasks"]:  # one task's story reads during checkpoints too
                        s = subprocess.run([BIN, "show", out, "1"], capture_output=True, text=True)
                        assert s.returncode == 0 and s.stdout.startswith("Task 1 "), s.stderr
                else:  # only "not yet created" is acceptable before the first checkpoint
                    assert not seen, r.stderr
        assert w.wait(timeout=120) == 0, w.stderr.read()
    finally:
        if w.poll() is None:
            w.kill()
    assert len(seen) >= 3 and seen == sorted(seen), seen
    assert report_json(out)["final_tasks"] == 200


def test_show_tool_calls_in_order():
    """A coder that calls a suite tool, reads its result, then writes code:
    the call, the tool's run and output, the result sent back, then the code."""
    cfg = make_campaign(None, ("scripted/tooly",), trials=1, name="tool-test")
    d = os.path.dirname(cfg)
    suite = os.path.join(d, "suite.yml")
    s = open(suite).read().replace("    prompt: prompts/double.txt\n", """\
    prompt: prompts/double.txt
    tools:
      - name: add_one
        description: Adds one to x
        parameters: {type: object, properties: {x: {type: number}}, required: [x]}
        command: [python, tools/add_one.py]
""", 1)
    open(suite, "w").write(s)
    os.makedirs(os.path.join(d, "tools"))
    with open(os.path.join(d, "tools", "add_one.py"), "w") as f:
        f.write("import json, sys\nprint(json.dumps({'y': json.load(sys.stdin)['x'] + 1}))\n")
    with open(os.path.join(d, "scripted", "tooly.yml"), "w") as f:
        f.write("""steps:
  double:
    supervisor: ["Go.\\nVERDICT: CONTINUE", "Good.\\nVERDICT: DONE"]
    coder: [{tool_calls: [{name: add_one, arguments: '{"x": 41}'}]},
            {text: "Now the code.", code_file: answers/double.py}]
  square:
    supervisor: ["Go.\\nVERDICT: CONTINUE", "Good.\\nVERDICT: DONE"]
    coder: [{code_file: answers/square.py}]
""")
    r = subprocess.run([BIN, "reference", suite], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    r = run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    out = subprocess.run([BIN, "show", output_of(cfg), "scripted/tooly/double/1"],
                         capture_output=True, text=True).stdout
    assert "status success" in out, out
    steps = ["[tool call] add_one({\"x\": 41})", "~~~ tool run: exit 0", "  [arguments]\n    {\"x\": 41}",
             "  [stdout]\n    {\"y\": 42}", ">>> to the coder (call 1):",
             "  [tool result for call_coder_0_0]\n    {\"y\": 42}", "Now the code.",
             "~~~ code version 1:", "~~~ ran: exit 0", "    wrote 42", ">>> to the supervisor (call 1):",
             "verdict: DONE", "[PASS] text:answer.txt"]
    at = [out.find(p) for p in steps]
    assert all(a >= 0 for a in at), [p for p, a in zip(steps, at) if a < 0]
    assert at == sorted(at), list(zip(steps, at))
