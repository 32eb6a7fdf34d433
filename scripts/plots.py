#!/usr/bin/python3
"""The study's figures, a summary CSV and a self-contained HTML report from
llm4hep results files.

    /usr/bin/python3 scripts/plots.py RESULTS.h5 [MORE.h5 ...] --out DIR [--html FILE]
        [--include-infra] [--errors-from SOURCE] [--max-transcripts N]

Writes into DIR, each as PDF and PNG (matplotlib, Agg backend):

    success_heatmap         success rate, models x steps, each cell "k/n" and the rate
    iterations_by_step      supervisor-coder iterations per task, box plot per step
    api_calls_by_step_model mean API calls per task, bars per step and model
    cost_per_step           total cost per step, stacked by model
    error_distribution_by_model  failures' categories per model, normalised stacked bars
    error_heatmap           failures per model and category
    errors_by_step          failures per step, stacked by category

and summary.csv (one row per model and step: trials, successes, rate, 95 %
Wilson bounds, mean iterations and API calls, tokens, cost, mean wall time,
infrastructure outcomes). Rows are the final attempt of every task; several
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
import io
import math
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llm4hep import INFRA_STATUSES, open_results  # noqa: E402

INFRA = INFRA_STATUSES  # the one list, in llm4hep.py
CATEGORIES = ("semantic", "function_calling", "file_not_found", "wrong_branch", "api_error",
              "data_quality", "other", "uncategorised")
FIGURES = ("success_heatmap", "iterations_by_step", "api_calls_by_step_model", "cost_per_step",
           "error_distribution_by_model", "error_heatmap", "errors_by_step")


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
    """Final rows of every file, merged, with columns model, file, category.
    Returns (frame, {file: Results})."""
    frames, results = [], {}
    for p in paths:
        r = open_results(p)
        results[p] = r
        f = r.final.copy()
        f["file"] = p
        cat = f.error_category.where(f.error_category != "", "uncategorised")
        if errors_from:
            a = r.annotations
            a = a[a.source == errors_from].drop_duplicates("task_id", keep="last")
            by_task = dict(zip(a.task_id, a.error_category))
            cat = [by_task.get(t, c) for t, c in zip(f.task_id, cat)]
        f["category"] = cat
        frames.append(f)
    df = pd.concat(frames, ignore_index=True)
    if df.empty:
        return df, results
    df = df.drop_duplicates(["campaign", "key"], keep="first")
    df["model"] = np.where(df.supervisor == df.coder, df.supervisor,
                           df.supervisor + "+" + df.coder)
    df.loc[~df.category.isin(CATEGORIES), "category"] = "other"
    return df, results


def order(values):
    """Steps in the order they first appear (the plan's)."""
    return list(dict.fromkeys(values))


def summary(df, include_infra=False):
    """One row per model and step (then per model, per step and overall)."""
    rows = []
    counted = df if include_infra else df[~df.status.isin(INFRA)]
    keys = [(m, s) for m in sorted(df.model.unique()) for s in order(df.step)]
    keys += [(m, None) for m in sorted(df.model.unique())]
    keys += [(None, s) for s in order(df.step)] + [(None, None)]
    for m, s in keys:
        sel, alls = counted, df
        if m is not None:
            sel, alls = sel[sel.model == m], alls[alls.model == m]
        if s is not None:
            sel, alls = sel[sel.step == s], alls[alls.step == s]
        if len(alls) == 0:
            continue
        n, k = len(sel), int(sel.success.sum())
        lo, hi = wilson(k, n)
        rows.append({
            "model": m if m is not None else "(all)", "step": s if s is not None else "(all)",
            "trials": n, "successes": k, "rate": k / n if n else float("nan"),
            "wilson_lo": lo, "wilson_hi": hi,
            "mean_iterations": sel.iterations.mean() if n else float("nan"),
            "mean_api_calls": sel.api_calls.mean() if n else float("nan"),
            "prompt_tokens": int(sel.prompt_tokens.sum()),
            "completion_tokens": int(sel.completion_tokens.sum()),
            "cost_usd": float(np.nansum(sel.cost_usd)), "cost_unknown": int(sel.cost_usd.isna().sum()),
            "mean_wall_s": sel.wall_s.mean() if n else float("nan"),
            "infra": int(alls.status.isin(INFRA).sum()),
        })
    return pd.DataFrame(rows)


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
    counted = df if include_infra else df[~df.status.isin(INFRA)]
    models, steps = sorted(df.model.unique()), order(df.step)
    rate = np.full((len(models), len(steps)), np.nan)
    fig, ax = plt.subplots(figsize=_size(len(models), len(steps)))
    for i, m in enumerate(models):
        for j, s in enumerate(steps):
            sel = counted[(counted.model == m) & (counted.step == s)]
            n, k = len(sel), int(sel.success.sum())
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
    _save(fig, out, "success_heatmap")


def fig_iterations_by_step(df, out, include_infra):
    counted = df if include_infra else df[~df.status.isin(INFRA)]
    steps = order(df.step)
    fig, ax = plt.subplots(figsize=_size(4, len(steps)))
    data = [counted[counted.step == s].iterations.to_numpy() for s in steps]
    if any(len(d) for d in data):
        ax.boxplot([d if len(d) else [np.nan] for d in data], showmeans=True)
        ax.set_xticks(range(1, len(steps) + 1), steps, rotation=30, ha="right")
        ax.set_ylabel("iterations per task")
    else:
        _empty(ax, "no tasks")
    ax.set_title("Supervisor-coder iterations by step (triangle: mean)")
    _save(fig, out, "iterations_by_step")


def _grouped_bars(ax, table, ylabel):
    """Bars: x = table's index (steps), one bar per column (model)."""
    n = max(1, len(table.columns))
    width = 0.8 / n
    x = np.arange(len(table.index))
    for i, col in enumerate(table.columns):
        ax.bar(x + (i - (n - 1) / 2) * width, table[col].to_numpy(dtype=float), width, label=col)
    ax.set_xticks(x, table.index, rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    if len(table.columns):
        ax.legend(fontsize=8)


def fig_api_calls(df, out, include_infra):
    counted = df if include_infra else df[~df.status.isin(INFRA)]
    steps = order(df.step)
    fig, ax = plt.subplots(figsize=_size(5, len(steps) * 1.5))
    t = counted.pivot_table(index="step", columns="model", values="api_calls", aggfunc="mean")
    if len(t):
        _grouped_bars(ax, t.reindex([s for s in steps if s in t.index]), "mean API calls per task")
    else:
        _empty(ax, "no tasks")
    ax.set_title("API calls by step and model")
    _save(fig, out, "api_calls_by_step_model")


def fig_cost_per_step(df, out, include_infra):
    counted = df if include_infra else df[~df.status.isin(INFRA)]
    steps = order(df.step)
    fig, ax = plt.subplots(figsize=_size(5, len(steps)))
    t = counted.pivot_table(index="step", columns="model", values="cost_usd",
                            aggfunc=lambda v: float(np.nansum(v))).fillna(0.0)
    unknown = int(counted.cost_usd.isna().sum())
    if len(t):
        t = t.reindex([s for s in steps if s in t.index])
        bottom = np.zeros(len(t))
        for m in t.columns:
            ax.bar(range(len(t)), t[m].to_numpy(), bottom=bottom, label=m)
            bottom += t[m].to_numpy()
        ax.set_xticks(range(len(t)), t.index, rotation=30, ha="right")
        ax.set_ylabel("cost (USD)")
        ax.legend(fontsize=8)
    else:
        _empty(ax, "no tasks")
    ax.set_title("Cost per step" + (f" ({unknown} task(s) with unknown price left out)"
                                    if unknown else ""))
    _save(fig, out, "cost_per_step")


def _failures(df):
    return df[df.status != "success"]


def _category_counts(fails, by, index):
    """Failures counted by `by` (model or step) x error category."""
    return pd.crosstab(fails[by], fails.category).reindex(index=index, columns=CATEGORIES,
                                                           fill_value=0)


def fig_error_distribution(df, out):
    fails = _failures(df)
    models = sorted(df.model.unique())
    fig, ax = plt.subplots(figsize=(9, max(3.0, 1.2 + 0.5 * len(models))))
    if len(fails):
        t = _category_counts(fails, "model", models)
        frac = t.div(t.sum(axis=1).replace(0, np.nan), axis=0).fillna(0)
        left = np.zeros(len(frac))
        cmap = plt.get_cmap("tab10")
        for i, c in enumerate(CATEGORIES):
            ax.barh(range(len(frac)), frac[c].to_numpy(), left=left, label=c, color=cmap(i))
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
    fails = _failures(df)
    models = sorted(df.model.unique())
    fig, ax = plt.subplots(figsize=_size(len(models), len(CATEGORIES)))
    if len(fails):
        t = _category_counts(fails, "model", models)
        im = ax.imshow(t.to_numpy(), cmap="Reds", aspect="auto")
        for i in range(t.shape[0]):
            for j in range(t.shape[1]):
                ax.text(j, i, str(t.iat[i, j]), ha="center", va="center", fontsize=9)
        ax.set_xticks(range(len(CATEGORIES)), CATEGORIES, rotation=30, ha="right")
        ax.set_yticks(range(len(models)), models)
        fig.colorbar(im, ax=ax, label="failures")
    else:
        _empty(ax, "no failures")
    ax.set_title("Failures by model and error category")
    _save(fig, out, "error_heatmap")


def fig_errors_by_step(df, out):
    fails = _failures(df)
    steps = order(df.step)
    fig, ax = plt.subplots(figsize=_size(5, len(steps)))
    if len(fails):
        t = _category_counts(fails, "step", steps)
        bottom = np.zeros(len(t))
        cmap = plt.get_cmap("tab10")
        for i, c in enumerate(CATEGORIES):
            ax.bar(range(len(t)), t[c].to_numpy(), bottom=bottom, label=c, color=cmap(i))
            bottom += t[c].to_numpy()
        ax.set_xticks(range(len(t)), t.index, rotation=30, ha="right")
        ax.set_ylabel("failures")
        ax.legend(fontsize=7)
    else:
        _empty(ax, "no failures")
    ax.set_title("Failures by step and error category")
    _save(fig, out, "errors_by_step")


def write_figures(df, out, include_infra=False):
    os.makedirs(out, exist_ok=True)
    fig_success_heatmap(df, out, include_infra)
    fig_iterations_by_step(df, out, include_infra)
    fig_api_calls(df, out, include_infra)
    fig_cost_per_step(df, out, include_infra)
    fig_error_distribution(df, out)
    fig_error_heatmap(df, out)
    fig_errors_by_step(df, out)
    return [os.path.join(out, f"{n}.{e}") for n in FIGURES for e in ("pdf", "png")]


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
    "success_heatmap": "Success rate by model and step (successes/trials)",
    "iterations_by_step": "Iterations per task by step",
    "api_calls_by_step_model": "Mean API calls per task by step and model",
    "cost_per_step": "Total cost per step, stacked by model",
    "error_distribution_by_model": "Error categories by model (normalised)",
    "error_heatmap": "Failures by model and error category",
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


def _status_class(status):
    return "st-success" if status == "success" else "st-infra" if status in INFRA else "st-fail"


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
        head = (f"#{r.task_id} {r.model} · {r.step} · trial {r.trial} · "
                f"<span class=\"{_status_class(r.status)}\">{html.escape(r.status)}</span>"
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
                     f"{html.escape(head, quote=False).replace('&lt;', '<').replace('&gt;', '>')}"
                     f"</summary><pre class=\"transcript\">{html.escape(text)}</pre></details></li>")
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
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("results", nargs="+", help="results files (HDF5)")
    ap.add_argument("--out", required=True, help="directory for the figures and summary.csv")
    ap.add_argument("--html", help="also write this self-contained HTML report")
    ap.add_argument("--include-infra", action="store_true",
                    help="count infrastructure outcomes as failed trials")
    ap.add_argument("--errors-from", metavar="SOURCE",
                    help="error categories from this annotation source (e.g. llm:openai/gpt-5)")
    ap.add_argument("--max-transcripts", type=int, default=1000,
                    help="transcripts embedded in the HTML at most (default 1000)")
    ap.add_argument("--llm4hep", metavar="BIN",
                    help="take each transcript from `BIN show` (with code diffs) instead of the "
                         "Python reader's")
    a = ap.parse_args(argv)
    for p in a.results:
        if not os.path.exists(p):
            ap.error(f"{p}: no such results file")
    df, results = load(a.results, a.errors_from)
    if df.empty:
        ap.error("no final tasks in " + ", ".join(a.results))
    os.makedirs(a.out, exist_ok=True)
    written = write_figures(df, a.out, a.include_infra)
    s = summary(df, a.include_infra)
    csv = os.path.join(a.out, "summary.csv")
    s.to_csv(csv, index=False)
    written.append(csv)
    if a.html:
        write_html(a.html, df, results, s, a.out, a.max_transcripts, a.include_infra, a.llm4hep)
        written.append(a.html)
    print(f"plots.py: {len(df)} final tasks; wrote {len(written)} files in {a.out}"
          + (f" and {a.html}" if a.html else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
