#!/usr/bin/python3
"""The study's figures, two summary tables and a self-contained HTML report
from llm4hep results files.

    llm4hep plots RESULTS.h5 [MORE.h5 ...] --out DIR [--html FILE]
    /usr/bin/python3 scripts/plots.py RESULTS.h5 [MORE.h5 ...] --out DIR [--html FILE]
        [--include-infra] [--errors-from SOURCE] [--max-transcripts N]

Writes into DIR, each as PDF and PNG (matplotlib, Agg backend), named as the
original framework's notebooks named them:

    1_success_rate_heatmap       success rate, models x steps, each cell "k/n" and the rate
    2_agent_work_line_plot       mean supervisor-coder iterations per task, a line per model
    3_api_calls_line_plot        mean API calls per task, a line per model
    4_cost_per_step              cost per step and model, input and output split
    error_distribution_by_model  failures' categories per model, normalised stacked bars
    error_heatmap_by_model       failures per model and category
    error_categories_top_models  failures by category, one panel for each of the nine
                                 models with the highest success rate
    errors_by_step               failures per step, stacked areas by category

and two tables: summary.csv (one row per model and step: trials, successes,
rate, 95 % Wilson bounds, mean iterations and API calls, tokens, cost, mean
wall time, infrastructure outcomes) and five_step_summary_stats.csv (one row
per model: each step's trials, successes and rate, then the mean rate over
steps, mean iterations and API calls, and the cost split into input and
output). The input/output split prices each call's tokens with the `prices`
of the campaign's config (stored in the file); a call without a price is
unknown, as in `llm4hep report`. Rows are the final attempt of every task; several
files are merged (a task key final in two files counts once, from the first).
Infrastructure outcomes (error_*, interrupted) are left out of the rates
unless --include-infra; the error figures count every failure (every status
but success). --errors-from llm:MODEL takes the categories from that
annotation source (`llm4hep errors --llm MODEL`) where a task has one.

--html FILE: one HTML file holding the figures (PNG, base64), the summary
table and the list of tasks; each entry opens (a <details> element) onto the
task's transcript. No network, no external file: mail it, open it anywhere.
`FILE#task-17` opens task 17 directly. --llm4hep BIN takes each transcript
from `BIN show` (code versions as diffs) instead of the Python reader.

Model names: a pair's model is "supervisor+coder"; in sequential mode the
model's own name (as `llm4hep report`).
"""

import argparse
import base64
import datetime
import html
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from l4h_args import Once, OnceTrue  # noqa: E402  (no flag is silently dropped)
try:
    import matplotlib

    matplotlib.use("Agg")
    # names on the axes are the campaign's (a results file is hostile input):
    # "$...$" in a model name must show as written, not be parsed as mathtext
    matplotlib.rcParams["text.parse_math"] = False
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    import yaml
    from llm4hep import open_results
except ImportError as e:  # a conda or pyenv python3 without the packages
    sys.stderr.write(f"plots.py: {e}: this Python ({sys.executable}) lacks what the figures need "
                     "(matplotlib, numpy, pandas, h5py, yaml). Run `llm4hep plots` (it uses the "
                     "Python the build found) or install python3-matplotlib python3-pandas "
                     "python3-h5py python3-yaml.\n")
    sys.exit(3)

FIGURES = ("1_success_rate_heatmap", "2_agent_work_line_plot", "3_api_calls_line_plot",
           "4_cost_per_step", "error_distribution_by_model", "error_heatmap_by_model",
           "error_categories_top_models", "errors_by_step")
TOP_MODELS = 9


def wilson(k, n, z=1.96):
    """95 % Wilson score interval of k successes in n trials ([0, 1] for n = 0)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def load(paths, errors_from=None):
    """Final rows of every file, merged, with columns model, file, category and
    infra (an infrastructure outcome, by its file's own list of statuses).
    The error categories, in order (every file's, then "other" and
    "uncategorised"), are in the frame's attrs["categories"].
    Returns (frame, {file: Results})."""
    frames, results, categories = [], {}, []
    for p in paths:
        try:
            r = open_results(p)
        except OSError as e:
            raise ValueError(f"{p}: not a readable HDF5 results file ({e})") from None
        results[p] = r
        f = r.final.copy()
        f["file"] = p
        cat = f.error_category.where(f.error_category != "", "uncategorised")
        if errors_from:
            a = r.annotations
            a = a[a.source == errors_from].drop_duplicates("task_id", keep="last")
            by_task = dict(zip(a.task_id, a.error_category))
            cat = [by_task.get(t, c) for t, c in zip(f.task_id, cat)]
        known = list(dict.fromkeys(list(r.error_categories) + ["other"]))
        f["category"] = [c if c in known or c == "uncategorised" else "other" for c in cat]
        f["infra"] = f.status.isin(r.infra_statuses)
        categories += [c for c in known if c not in categories]
        f["input_cost_usd"], f["output_cost_usd"] = _cost_split(r, f.task_id)
        frames.append(f)
    df = pd.concat(frames, ignore_index=True)
    if not df.empty:
        df = df.drop_duplicates(["campaign", "key"], keep="first")
        df["model"] = np.where(df.supervisor == df.coder, df.supervisor,
                               df.supervisor + "+" + df.coder)
    df.attrs["categories"] = categories + ["uncategorised"]
    return df, results


def categories(df):
    """The error categories the figures show, in order (load's list)."""
    return df.attrs["categories"]


def _prices(r):
    """{model: (input_per_mtok, output_per_mtok)} from the newest run's config."""
    runs = r.runs
    if runs.empty:
        return {}
    last = runs.iloc[-1]
    try:
        cfg = yaml.safe_load(r.text(last.config_off, last.config_len)) or {}
    except yaml.YAMLError:
        return {}
    out = {}
    for model, p in (cfg.get("prices") or {}).items() if isinstance(cfg, dict) else ():
        try:
            out[str(model)] = (float(p["input_per_mtok"]), float(p["output_per_mtok"]))
        except (TypeError, KeyError, ValueError):
            pass
    return out


def _cost_split(r, task_ids):
    """Per task (in task_ids' order): the cost of its input and of its output
    tokens, summed over its calls. A call's recorded cost is split in the
    ratio of its tokens' prices; NaN for a task with a call whose cost is
    unknown, or not zero without a price to split it by."""
    ids = pd.Index(task_ids)
    calls = r.calls
    if calls.empty:
        return np.zeros(len(ids)), np.zeros(len(ids))
    prices = _prices(r)
    pin = calls.model.map(lambda m: prices.get(m, (0.0, 0.0))[0]).astype(float)
    pout = calls.model.map(lambda m: prices.get(m, (0.0, 0.0))[1]).astype(float)
    cin, cout = calls.prompt_tokens * pin, calls.completion_tokens * pout
    tot = (cin + cout).to_numpy(dtype=float)
    share = np.divide(cin.to_numpy(dtype=float), tot, out=np.full(len(tot), 0.5), where=tot > 0)
    cost = calls.cost_usd.to_numpy(dtype=float)
    parts = pd.DataFrame({"task_id": calls.task_id.to_numpy(), "input": cost * share,
                          "output": cost * (1 - share),
                          "unknown": np.isnan(cost) | (~calls.model.isin(prices).to_numpy()
                                                       & (cost != 0))})
    g = parts.groupby("task_id").agg({"input": "sum", "output": "sum", "unknown": "any"})
    g = g.reindex(ids)
    unknown = g.unknown.fillna(False).astype(bool).to_numpy()
    cin = np.where(unknown, np.nan, g.input.fillna(0.0).to_numpy())
    cout = np.where(unknown, np.nan, g.output.fillna(0.0).to_numpy())
    return cin, cout


def order(values):
    """Steps in the order they first appear (the plan's)."""
    return list(dict.fromkeys(values))


def _counted(df, include_infra):
    """The rows the rates count: every row, or all but the infrastructure outcomes."""
    return df if include_infra else df[~df.infra]


def _cells(df, include_infra, models, steps):
    """Trials and successes per (model, step) over the counted rows, every
    model x step cell present (0 and 0 for a cell without trials)."""
    g = _counted(df, include_infra).groupby(["model", "step"]).success.agg(
        trials="size", successes="sum")
    cells = pd.MultiIndex.from_product([models, steps], names=["model", "step"])
    return g.reindex(cells, fill_value=0).astype("int64")


def _group_stats(df, include_infra):
    """The summary's numbers per (model, step) group of df: trials and
    successes, means and sums over the counted rows, and every row's
    infrastructure outcomes. A group without a counted row has 0 trials,
    NaN means and zero sums."""
    c = _counted(df, include_infra)
    g = c.assign(cost_unknown=c.cost_usd.isna()).groupby(["model", "step"]).agg(
        trials=("success", "size"), successes=("success", "sum"),
        mean_iterations=("iterations", "mean"), mean_api_calls=("api_calls", "mean"),
        prompt_tokens=("prompt_tokens", "sum"), completion_tokens=("completion_tokens", "sum"),
        cost_usd=("cost_usd", "sum"), cost_unknown=("cost_unknown", "sum"),
        mean_wall_s=("wall_s", "mean"))
    infra = df.infra.groupby([df.model, df.step]).sum()
    g = g.reindex(infra.index)
    ints = ["trials", "successes", "prompt_tokens", "completion_tokens", "cost_unknown"]
    g[ints] = g[ints].fillna(0).astype("int64")
    g["cost_usd"] = g.cost_usd.fillna(0.0)
    g["infra"] = infra.astype("int64")
    return g


def summary(df, include_infra=False):
    """One row per model and step (then per model, per step and overall)."""
    models, steps = sorted(df.model.unique()), order(df.step)
    every = "(all)"
    keys = [(m, s) for m in models for s in steps] + [(m, every) for m in models] + \
           [(every, s) for s in steps] + [(every, every)]
    # the totals are the same aggregation with the summed-over column set to "(all)"
    levels = [df, df.assign(step=every), df.assign(model=every), df.assign(model=every, step=every)]
    g = pd.concat([_group_stats(d, include_infra) for d in levels])
    g = g.reindex([k for k in keys if k in g.index]).reset_index()
    g["rate"] = g.successes / g.trials.where(g.trials > 0)
    bounds = [wilson(k, n) for k, n in zip(g.successes, g.trials)]
    g["wilson_lo"] = [lo for lo, _ in bounds]
    g["wilson_hi"] = [hi for _, hi in bounds]
    return g[["model", "step", "trials", "successes", "rate", "wilson_lo", "wilson_hi",
              "mean_iterations", "mean_api_calls", "prompt_tokens", "completion_tokens",
              "cost_usd", "cost_unknown", "mean_wall_s", "infra"]]


# ------------------------------------------------------------------ figures

def _save(fig, out, name):
    fig.tight_layout()
    for ext in ("pdf", "png"):
        fig.savefig(os.path.join(out, f"{name}.{ext}"), dpi=130)
    plt.close(fig)


def _empty(ax, what):
    ax.text(0.5, 0.5, what, ha="center", va="center", transform=ax.transAxes, fontsize=12)
    ax.set_xticks([])
    ax.set_yticks([])


def _size(n_rows, n_cols):
    return (max(6.0, 1.2 + 1.3 * n_cols), max(3.0, 1.2 + 0.5 * n_rows))


def fig_success_heatmap(df, out, include_infra):
    models, steps = sorted(df.model.unique()), order(df.step)
    cells = _cells(df, include_infra, models, steps)
    trials = cells.trials.unstack("step").reindex(index=models, columns=steps).to_numpy()
    wins = cells.successes.unstack("step").reindex(index=models, columns=steps).to_numpy()
    rate = np.full((len(models), len(steps)), np.nan)
    fig, ax = plt.subplots(figsize=_size(len(models), len(steps)))
    for i in range(len(models)):
        for j in range(len(steps)):
            n, k = int(trials[i, j]), int(wins[i, j])
            if n:
                rate[i, j] = k / n
                ax.text(j, i, f"{k}/{n}\n{100 * k / n:.0f}%", ha="center", va="center", fontsize=9,
                        color="black")
            else:
                ax.text(j, i, "no trials", ha="center", va="center", fontsize=8, color="0.3")
    cmap = plt.get_cmap("RdYlGn").copy()
    cmap.set_bad("0.85")
    im = ax.imshow(np.ma.masked_invalid(rate), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(steps)), steps, rotation=30, ha="right")
    ax.set_yticks(range(len(models)), models)
    ax.set_title("Success rate by model and step (successes/trials)")
    fig.colorbar(im, ax=ax, label="success rate")
    _save(fig, out, "1_success_rate_heatmap")


def _line_plot(df, out, include_infra, column, ylabel, title, name):
    """Mean of `column` per task, x = steps in plan order, a line per model."""
    counted = _counted(df, include_infra)
    steps = order(df.step)
    fig, ax = plt.subplots(figsize=_size(5, len(steps) * 1.5))
    t = counted.groupby(["model", "step"])[column].mean().unstack("step")
    if len(t):
        t = t.reindex(columns=steps)
        for model, row in t.iterrows():
            ax.plot(range(len(steps)), row.to_numpy(dtype=float), marker="o", label=model)
        ax.set_xticks(range(len(steps)), steps, rotation=30, ha="right")
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
    else:
        _empty(ax, "no tasks")
    ax.set_title(title)
    _save(fig, out, name)


def fig_agent_work(df, out, include_infra):
    _line_plot(df, out, include_infra, "iterations", "mean iterations per task",
               "Agent work: supervisor-coder iterations by step", "2_agent_work_line_plot")


def fig_api_calls(df, out, include_infra):
    _line_plot(df, out, include_infra, "api_calls", "mean API calls per task",
               "API calls by step", "3_api_calls_line_plot")


def fig_cost_per_step(df, out, include_infra):
    """Bars per step: for each model, input (solid) and output (hatched) cost;
    a cost the config's prices cannot split is drawn on top, dotted."""
    counted = _counted(df, include_infra)
    counted = counted.assign(unsplit=counted.cost_usd.where(counted.input_cost_usd.isna()))
    steps = order(df.step)
    models = sorted(counted.model.unique())
    fig, ax = plt.subplots(figsize=_size(5, max(1, len(steps)) * 1.5))
    unknown = int(counted.cost_usd.isna().sum())
    if len(counted):
        g = counted.groupby(["step", "model"])[["input_cost_usd", "output_cost_usd", "unsplit"]]
        g = g.sum(min_count=0)
        width = 0.8 / max(1, len(models))
        cmap = plt.get_cmap("tab10")
        for i, m in enumerate(models):
            x = np.arange(len(steps)) + (i - (len(models) - 1) / 2) * width
            part = {c: np.array([g[c].get((s, m), 0.0) for s in steps], dtype=float)
                    for c in ("input_cost_usd", "output_cost_usd", "unsplit")}
            color = cmap(i % 10)
            split = part["input_cost_usd"].any() or part["output_cost_usd"].any()
            ax.bar(x, part["input_cost_usd"], width, color=color,
                   label=f"{m} input" if split else None)
            bottom = part["input_cost_usd"]
            ax.bar(x, part["output_cost_usd"], width, bottom=bottom, color=color, alpha=0.5,
                   hatch="//", label=f"{m} output" if split else None)
            bottom = bottom + part["output_cost_usd"]
            if part["unsplit"].any():
                ax.bar(x, part["unsplit"], width, bottom=bottom, color=color, alpha=0.3,
                       hatch="..", label=f"{m} (no price to split by)")
        ax.set_xticks(range(len(steps)), steps, rotation=30, ha="right")
        ax.set_ylabel("cost (USD)")
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    else:
        _empty(ax, "no tasks")
    ax.set_title("Cost per step, input and output" + (
        f" ({unknown} task(s) with unknown cost left out)" if unknown else ""))
    _save(fig, out, "4_cost_per_step")


def _failures(df):
    return df[df.status != "success"]


def _category_counts(fails, by, index, cats):
    """Failures counted by `by` (model or step) x error category (cats)."""
    return pd.crosstab(fails[by], fails.category).reindex(index=index, columns=cats, fill_value=0)


def fig_error_distribution(df, out):
    cats = categories(df)
    fails = _failures(df)
    models = sorted(df.model.unique())
    fig, ax = plt.subplots(figsize=(9, max(3.0, 1.2 + 0.5 * len(models))))
    if len(fails):
        t = _category_counts(fails, "model", models, cats)
        frac = t.div(t.sum(axis=1).replace(0, np.nan), axis=0).fillna(0)
        left = np.zeros(len(frac))
        cmap = plt.get_cmap("tab10")
        for i, c in enumerate(cats):
            ax.barh(range(len(frac)), frac[c].to_numpy(), left=left, label=c, color=cmap(i % 10))
            left += frac[c].to_numpy()
        ax.set_yticks(range(len(frac)), [f"{m} ({int(t.loc[m].sum())})" for m in frac.index])
        ax.set_xlim(0, 1)
        ax.set_xlabel("fraction of the model's failures")
        ax.invert_yaxis()
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    else:
        _empty(ax, "no failures")
    ax.set_title("Error categories by model (normalised; failures in brackets)")
    _save(fig, out, "error_distribution_by_model")


def fig_error_heatmap(df, out):
    cats = categories(df)
    fails = _failures(df)
    models = sorted(df.model.unique())
    fig, ax = plt.subplots(figsize=_size(len(models), len(cats)))
    if len(fails):
        t = _category_counts(fails, "model", models, cats)
        im = ax.imshow(t.to_numpy(), cmap="Reds", aspect="auto")
        for i in range(t.shape[0]):
            for j in range(t.shape[1]):
                ax.text(j, i, str(t.iat[i, j]), ha="center", va="center", fontsize=9)
        ax.set_xticks(range(len(cats)), cats, rotation=30, ha="right")
        ax.set_yticks(range(len(models)), models)
        fig.colorbar(im, ax=ax, label="failures")
    else:
        _empty(ax, "no failures")
    ax.set_title("Failures by model and error category")
    _save(fig, out, "error_heatmap_by_model")


def top_models(df, include_infra=False, n=TOP_MODELS):
    """The n models with the highest success rate (ties: more trials, then name)."""
    counted = _counted(df, include_infra)
    g = counted.groupby("model").success.agg(["mean", "size"])
    g = g.reset_index().sort_values(["mean", "size", "model"], ascending=[False, False, True])
    return list(g.model[:n])


def fig_error_categories_top_models(df, out, include_infra):
    """One panel per top model: its failures by category."""
    cats = categories(df)
    top = top_models(df, include_infra)
    fails = _failures(df)
    cols = min(3, max(1, len(top)))
    rows = max(1, math.ceil(len(top) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    cmap = plt.get_cmap("tab10")
    t = _category_counts(fails, "model", top, cats) if len(fails) else None
    rate = df[~df.infra].groupby("model").success.mean()
    for k, ax in enumerate(axes.flat):
        if k >= len(top):
            ax.axis("off")
            continue
        m = top[k]
        counts = t.loc[m].to_numpy() if t is not None else np.zeros(len(cats))
        if counts.sum():
            ax.barh(range(len(cats)), counts, color=[cmap(i % 10) for i in range(len(cats))])
            ax.set_yticks(range(len(cats)), cats, fontsize=7)
            ax.invert_yaxis()
            ax.set_xlabel("failures", fontsize=8)
        else:
            _empty(ax, "no failures")
        r = rate.get(m, float("nan"))
        ax.set_title(f"{m}\nsuccess {100 * r:.0f}%" if r == r else m, fontsize=9)
    fig.suptitle(f"Error categories of the top {len(top)} models by success rate")
    _save(fig, out, "error_categories_top_models")


def fig_errors_by_step(df, out):
    cats = categories(df)
    fails = _failures(df)
    steps = order(df.step)
    fig, ax = plt.subplots(figsize=_size(5, len(steps)))
    if len(fails):
        t = _category_counts(fails, "step", steps, cats)
        cmap = plt.get_cmap("tab10")
        ax.stackplot(range(len(t)), *[t[c].to_numpy() for c in cats], labels=cats,
                     colors=[cmap(i % 10) for i in range(len(cats))], alpha=0.85)
        ax.set_xticks(range(len(t)), t.index, rotation=30, ha="right")
        ax.set_xlim(-0.05, max(0.05, len(t) - 0.95))
        ax.set_ylabel("failures")
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    else:
        _empty(ax, "no failures")
    ax.set_title("Failures by step and error category")
    _save(fig, out, "errors_by_step")


def write_figures(df, out, include_infra=False):
    os.makedirs(out, exist_ok=True)
    fig_success_heatmap(df, out, include_infra)
    fig_agent_work(df, out, include_infra)
    fig_api_calls(df, out, include_infra)
    fig_cost_per_step(df, out, include_infra)
    fig_error_distribution(df, out)
    fig_error_heatmap(df, out)
    fig_error_categories_top_models(df, out, include_infra)
    fig_errors_by_step(df, out)
    return [os.path.join(out, f"{n}.{e}") for n in FIGURES for e in ("pdf", "png")]


def five_step_summary(df, include_infra=False):
    """One row per model: each step's trials, successes and rate; the mean rate
    over the steps with trials; mean iterations and API calls; cost, input and
    output (sums over the tasks whose cost is known) and how many are unknown."""
    models, steps = sorted(df.model.unique()), order(df.step)
    cells = _cells(df, include_infra, models, steps)
    cells["rate"] = cells.successes / cells.trials.where(cells.trials > 0)
    wide = cells.unstack("step")
    out = pd.DataFrame({f"{s}_{stat}": wide[(stat, s)] for s in steps
                        for stat in ("trials", "successes", "rate")})
    out["mean_rate"] = out[[f"{s}_rate" for s in steps]].mean(axis=1)
    c = _counted(df, include_infra)
    per_model = c.assign(cost_unknown=c.cost_usd.isna()).groupby("model").agg(
        mean_iterations=("iterations", "mean"), mean_api_calls=("api_calls", "mean"),
        cost_usd=("cost_usd", "sum"), input_cost_usd=("input_cost_usd", "sum"),
        output_cost_usd=("output_cost_usd", "sum"), cost_unknown=("cost_unknown", "sum"))
    per_model = per_model.reindex(models).fillna(
        {"cost_usd": 0.0, "input_cost_usd": 0.0, "output_cost_usd": 0.0, "cost_unknown": 0})
    per_model["cost_unknown"] = per_model.cost_unknown.astype("int64")
    return out.join(per_model).rename_axis("model").reset_index()


# --------------------------------------------------------------------- HTML

CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
h1{font-size:1.5em} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.5em}
figure{display:inline-block;margin:.5em;vertical-align:top} figure img{max-width:560px}
figcaption{font-size:.85em;color:#555}
table{border-collapse:collapse;font-size:.85em} th,td{border:1px solid #ddd;padding:.2em .5em}
td.n{text-align:right} tr.total{background:#f3f3f3}
details{margin:.15em 0} summary{cursor:pointer} summary .st-success{color:#070}
summary .st-fail{color:#a00} summary .st-infra{color:#a60}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.8em;white-space:pre-wrap}
#filter{margin:.5em 0;padding:.3em;width:20em}
"""

JS = """
function l4hReady(){
  var ok=0, imgs=document.querySelectorAll('figure img');
  imgs.forEach(function(i){ if(i.complete && i.naturalWidth>0) ok++; });
  var el=document.getElementById('figures-ok'); el.textContent=String(ok);
  document.body.setAttribute('data-figures-loaded', String(ok));
  if(location.hash){ var d=document.getElementById(location.hash.slice(1));
    if(d && d.tagName==='DETAILS'){ d.open=true; d.scrollIntoView(); } }
}
window.addEventListener('load', l4hReady);
window.addEventListener('hashchange', l4hReady);
document.addEventListener('DOMContentLoaded', function(){
  var f=document.getElementById('filter');
  f.addEventListener('input', function(){
    var q=f.value.toLowerCase();
    document.querySelectorAll('#tasks li').forEach(function(li){
      li.style.display = li.getAttribute('data-key').indexOf(q)>=0 ? '' : 'none'; });
  });
});
"""

CAPTIONS = {
    "1_success_rate_heatmap": "Success rate by model and step (successes/trials)",
    "2_agent_work_line_plot": "Mean iterations per task by step and model",
    "3_api_calls_line_plot": "Mean API calls per task by step and model",
    "4_cost_per_step": "Cost per step and model, input and output",
    "error_distribution_by_model": "Error categories by model (normalised)",
    "error_heatmap_by_model": "Failures by model and error category",
    "error_categories_top_models": "Error categories of the models with the highest success rate",
    "errors_by_step": "Failures by step and error category",
}


def _fmt(v, spec):
    if isinstance(v, float) and math.isnan(v):
        return "-"
    return format(v, spec)


def summary_table(s):
    cols = ("model", "step", "success", "rate", "95% CI", "iter/task", "calls/task", "tok in",
            "tok out", "cost $", "wall s/task", "infra")
    out = ["<table id=\"summary\"><thead><tr>"
           + "".join(f"<th>{html.escape(c)}</th>" for c in cols) + "</tr></thead><tbody>"]
    for r in s.itertuples():
        total = r.model == "(all)" or r.step == "(all)"
        cost = _fmt(r.cost_usd, ".4f") + ("+?" if r.cost_unknown else "")
        cells = [(r.model, ""), (r.step, ""), (f"{r.successes}/{r.trials}", "n"),
                 (_fmt(100 * r.rate, ".1f") + ("%" if r.trials else ""), "n"),
                 (f"[{100 * r.wilson_lo:.1f}%, {100 * r.wilson_hi:.1f}%]", "n"),
                 (_fmt(r.mean_iterations, ".2f"), "n"), (_fmt(r.mean_api_calls, ".2f"), "n"),
                 (str(r.prompt_tokens), "n"), (str(r.completion_tokens), "n"), (cost, "n"),
                 (_fmt(r.mean_wall_s, ".1f"), "n"), (str(r.infra), "n")]
        tr = '<tr class="total">' if total else "<tr>"
        out.append(tr + "".join(('<td class="n">' if c else "<td>") + html.escape(str(v)) + "</td>"
                                for v, c in cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _status_class(status, infra):
    return "st-success" if status == "success" else "st-infra" if infra else "st-fail"


def _transcript(results, r, show_bin):
    """The task's story: `llm4hep show` (code diffs included) when show_bin
    is given, else the Python reader's transcript."""
    if show_bin:
        p = subprocess.run([show_bin, "show", r.file, str(int(r.task_id))], capture_output=True,
                           text=True, timeout=300)
        if p.returncode != 0:
            raise RuntimeError(p.stderr.strip())
        return p.stdout
    return results[r.file].transcript(int(r.task_id))


def task_list(df, results, max_transcripts, show_bin=None):
    items = []
    for n, r in enumerate(df.sort_values(["model", "step", "trial"]).itertuples()):
        anchor = f"task-{r.task_id}" if len(results) == 1 else \
            f"task-{list(results).index(r.file) + 1}-{r.task_id}"
        # every part escaped once: model and step names are the campaign's, not ours
        head = (f"#{r.task_id} {html.escape(r.model)} · {html.escape(r.step)} · trial {r.trial} · "
                f"<span class=\"{_status_class(r.status, r.infra)}\">{html.escape(r.status)}</span>"
                + (f" ({html.escape(r.category)})" if r.status != "success" else ""))
        if n < max_transcripts:
            try:
                text = _transcript(results, r, show_bin)
            except Exception as e:  # a damaged task must not hide the others
                text = f"(transcript unavailable: {e})"
        else:
            text = f"(not embedded: more than {max_transcripts} tasks; `llm4hep show` prints it)"
        key = html.escape(f"{r.model} {r.step} {r.trial} {r.status} {r.category}".lower())
        items.append(f"<li data-key=\"{key}\"><details id=\"{anchor}\"><summary>"
                     f"{head}</summary><pre class=\"transcript\">{html.escape(text)}</pre></details></li>")
    return "<ul id=\"tasks\">\n" + "\n".join(items) + "\n</ul>"


def write_html(path, df, results, s, figdir, max_transcripts=1000, include_infra=False,
               show_bin=None):
    figs = []
    for name in FIGURES:
        with open(os.path.join(figdir, f"{name}.png"), "rb") as f:
            b64 = base64.b64encode(f.read()).decode("ascii")
        figs.append(f"<figure id=\"fig-{name}\"><img alt=\"{name}\" "
                    f"src=\"data:image/png;base64,{b64}\"><figcaption>{html.escape(CAPTIONS[name])}"
                    f"</figcaption></figure>")
    campaigns = sorted({r.campaign for r in results.values()})
    title = "llm4hep report: " + ", ".join(campaigns)
    files = "".join(f"<li>{html.escape(p)}: campaign {html.escape(r.campaign)}, "
                    f"{len(r.tasks)} attempts</li>" for p, r in results.items())
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{CSS}</style><script>{JS}</script></head>
<body>
<h1>{html.escape(title)}</h1>
<p>{len(df)} final tasks, generated {now}. Infrastructure outcomes (error_*, interrupted)
{"are counted as failures" if include_infra else "are left out of the rates"}.
<span id="figures-ok" hidden></span></p>
<ul>{files}</ul>
<h2>Figures</h2>
{"".join(figs)}
<h2>Success by model and step</h2>
{summary_table(s)}
<h2>Tasks</h2>
<p>Click a task to read its transcript. <input id="filter" placeholder="filter: model, step, status..."></p>
{task_list(df, results, max_transcripts, show_bin)}
</body></html>
"""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(doc)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(prog=os.environ.get("LLM4HEP_PLOTS_PROG"),
                                 description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("results", nargs="+", help="results files (HDF5)")
    ap.add_argument("--out", required=True, action=Once, help="directory for the figures, summary.csv and five_step_summary_stats.csv")
    ap.add_argument("--html", action=Once, help="also write this self-contained HTML report")
    ap.add_argument("--include-infra", action=OnceTrue,
                    help="count infrastructure outcomes as failed trials")
    ap.add_argument("--errors-from", metavar="SOURCE", action=Once,
                    help="error categories from this annotation source (e.g. llm:openai/gpt-5)")
    ap.add_argument("--max-transcripts", type=int, default=1000, action=Once,
                    help="transcripts embedded in the HTML at most (default 1000)")
    ap.add_argument("--llm4hep", metavar="BIN", action=Once,
                    help="take each transcript from `BIN show` (with code diffs) instead of the "
                         "Python reader's")
    a = ap.parse_args(argv)
    for p in a.results:
        if not os.path.exists(p):
            ap.error(f"{p}: no such results file")
    try:
        df, results = load(a.results, a.errors_from)
    except (OSError, ValueError, KeyError) as e:  # not a results file, or a damaged one
        print(f"{ap.prog}: {e}", file=sys.stderr)
        return 2
    if df.empty:
        ap.error("no final tasks in " + ", ".join(a.results))
    os.makedirs(a.out, exist_ok=True)
    written = write_figures(df, a.out, a.include_infra)
    s = summary(df, a.include_infra)
    csv = os.path.join(a.out, "summary.csv")
    s.to_csv(csv, index=False)
    written.append(csv)
    five = os.path.join(a.out, "five_step_summary_stats.csv")
    five_step_summary(df, a.include_infra).to_csv(five, index=False)
    written.append(five)
    if a.html:
        write_html(a.html, df, results, s, a.out, a.max_transcripts, a.include_infra, a.llm4hep)
        written.append(a.html)
    print(f"plots.py: {len(df)} final tasks; wrote {len(written)} files in {a.out}"
          + (f" and {a.html}" if a.html else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
