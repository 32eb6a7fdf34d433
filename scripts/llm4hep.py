"""Read an llm4hep results file (HDF5) into pandas.

    import sys; sys.path.insert(0, "scripts")
    from llm4hep import open_results

    r = open_results("results/hgg-2026-11.h5")
    r.tasks                      # one row per task attempt (DataFrame)
    r.final                      # the rows that count: one per (supervisor, coder, step, trial)
    r.final.groupby(["coder", "step"]).success.mean()
    r.calls, r.execs, r.checks, r.runs, r.annotations
    print(r.transcript("openai/gpt-5/openai/gpt-5/create_numpy/1"))   # or a task id: r.transcript(17)
    r.text(off, length)          # one text from the heap, e.g. a response body
    r.request(r.calls.iloc[0])   # a request body exactly as sent, rebuilt from its pieces

Strings come back as Python str (the file stores fixed-width UTF-8 bytes). A
text column X is stored as two integer columns X_off, X_len into the byte heap
/text; `r.text(row.X_off, row.X_len)` reads just that slice, and
`r.with_text(frame, "X")` adds the texts of a (small) frame as a column. The
full layout is docs/results-format.md. Request bodies (format_version 2) are
stored once per distinct piece: a /calls row's request_off/request_len are
rows of /piece_refs, each a row of /pieces (sha256, text_off, text_len); the
body is the concatenation of those texts (`r.request(row)` does it).

The file is opened only while something is read, never held open, so a
campaign that is still running keeps updating it; the tables are read once
and cached (call `refresh()` to see new rows).

Needs only h5py, numpy and pandas. Runs as a script too:
`python3 scripts/llm4hep.py RESULTS.h5 [TASK]` prints a summary or a transcript.
"""

import json
import sys
import time
import types

import h5py
import numpy as np
import pandas as pd

TABLES = ("runs", "tasks", "calls", "execs", "checks", "annotations")

#: The statuses and error categories of a file written before llm4hep stored
#: them in it. A results file carries its writer's lists as root attributes
#: (statuses, infra_statuses, error_categories; docs/results-format.md), taken
#: from the C definitions (src/core/record.c), and `Results` reads them from
#: there: a status or category added in C reaches the scripts through the file.
#: These are the lists as they stood when the attributes were introduced,
#: frozen: never edit them to add a status.
LEGACY_STATUSES = ("success", "failed_validation", "failed_execution", "failed_no_code",
                   "failed_limit", "failed_request", "error_api", "error_sandbox",
                   "error_internal", "interrupted")
LEGACY_INFRA_STATUSES = ("error_api", "error_sandbox", "error_internal", "interrupted")
LEGACY_ERROR_CATEGORIES = ("semantic", "function_calling", "file_not_found", "wrong_branch",
                           "api_error", "data_quality", "other")
VOCABULARY = ("statuses", "infra_statuses", "error_categories")


def _open(path):
    """h5py.File(path, "r"), waiting (up to 10 s) while a checkpoint holds the file."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return h5py.File(path, "r")
        except OSError as e:
            if "lock" not in str(e).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _decode(v):
    return v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v


def _ref(path, heap, off, n):
    """(off, n) as ints after checking they lie inside the /text heap: a
    damaged file's ref is a ValueError naming it, never a wrong slice (a
    negative offset would read from the end, a huge one silently nothing)."""
    off, n = int(off), int(n)
    if n != 0 and not (0 <= off <= len(heap) and 0 < n <= len(heap) - off):
        raise ValueError(f"{path}: text ref ({off}, {n}) is outside /text ({len(heap)} bytes): damaged file")
    return off, n


def _pieced(f):
    """True when requests are stored as piece lists (format_version 2 on)."""
    return int(f.attrs.get("format_version", 1)) >= 2


def _request(path, f, off, n):
    """The request body (bytes) stored as /piece_refs rows [off, off + n):
    the concatenation of its pieces' texts. Refs outside the tables are a
    ValueError naming the damaged file."""
    off, n = int(off), int(n)
    if n == 0:
        return b""
    refs_ds, pieces, heap = f["piece_refs"], f["pieces"], f["text"]
    if not (0 <= off <= len(refs_ds) and 0 < n <= len(refs_ds) - off):
        raise ValueError(f"{path}: request piece list ({off}, {n}) is outside /piece_refs "
                         f"({len(refs_ds)} rows): damaged file")
    refs = refs_ds[off:off + n]
    if (refs < 0).any() or (refs >= len(pieces)).any():
        raise ValueError(f"{path}: a request names a piece outside /pieces ({len(pieces)} rows): "
                         "damaged file")
    uniq, inv = np.unique(refs, return_inverse=True)
    rows = pieces[list(uniq)]
    texts = []
    for o, ln in zip(rows["text_off"], rows["text_len"]):
        o, ln = _ref(path, heap, o, ln)
        if ln == 0:
            raise ValueError(f"{path}: an empty piece in /pieces: damaged file")
        texts.append(heap[o:o + ln].tobytes())
    return b"".join(texts[i] for i in inv.ravel())


def _rows(path, table, first, n):
    """(first, n) as ints after checking rows [first, first + n) lie inside table."""
    first, n = int(first), int(n)
    if not (0 <= first <= len(table) and 0 <= n <= len(table) - first):
        raise ValueError(f"{path}: rows {first} (+{n}) are outside /{table.name.lstrip('/')} "
                         f"({len(table)} rows): damaged file")
    return first, n


def _attr(v):
    """A root attribute as Python: str, number, or a tuple of them (an array)."""
    if isinstance(v, np.ndarray) and v.ndim == 1:
        return tuple(_decode(x.item() if hasattr(x, "item") else x) for x in v)
    return _decode(v.item() if hasattr(v, "item") else v)


def _vocabulary(path, attrs):
    """(statuses, infra_statuses, error_categories) of a file: its root
    attributes, or the LEGACY_* lists for a file written before they existed.
    ValueError naming the file for a file holding some but not all, or ones
    that are not lists of names."""
    have = [k for k in VOCABULARY if k in attrs]
    if not have:
        return LEGACY_STATUSES, LEGACY_INFRA_STATUSES, LEGACY_ERROR_CATEGORIES
    if len(have) != len(VOCABULARY):
        missing = ", ".join(k for k in VOCABULARY if k not in have)
        raise ValueError(f"{path}: has the root attribute(s) {', '.join(have)} but not {missing}: "
                         "damaged file")
    out = []
    for k in VOCABULARY:
        v = attrs[k]
        if not (isinstance(v, tuple) and all(isinstance(x, str) and x for x in v)):
            raise ValueError(f"{path}: root attribute {k} is not a list of names: damaged file")
        out.append(v)
    if "success" not in out[0] or not set(out[1]) <= set(out[0]):
        raise ValueError(f"{path}: root attribute statuses lacks success or an infra_statuses "
                         "name: damaged file")
    return tuple(out)


def _frame(arr):
    """A DataFrame from a structured array, byte-string columns decoded to str."""
    df = pd.DataFrame(arr)
    for name in df.columns:
        if arr.dtype[name].kind == "S":
            df[name] = [_decode(v) for v in arr[name]]
    return df


class Results:
    """The tables of one results file as DataFrames, plus text and transcripts."""

    def __init__(self, path):
        self.path = str(path)
        self._cache = {}
        with _open(self.path) as f:
            if "format_version" not in f.attrs:
                raise ValueError(f"{self.path}: not an llm4hep results file "
                                 "(no format_version attribute)")
            #: root attributes: campaign, created_utc, config_sha256, suite_sha256, ...
            self.attrs = {k: _attr(v) for k, v in f.attrs.items()}
        self.campaign = self.attrs.get("campaign", "")
        #: every status in the order C defines them; the infrastructure ones
        #: (left out of the rates); the model's failures; the error categories
        #: (a failure without one is "uncategorised"). From the file's root
        #: attributes, or LEGACY_* for a file written before they existed.
        self.statuses, self.infra_statuses, self.error_categories = _vocabulary(self.path, self.attrs)
        self.model_statuses = tuple(s for s in self.statuses
                                    if s != "success" and s not in self.infra_statuses)

    # ----------------------------------------------------------- tables
    def _table(self, name):
        if name not in self._cache:
            with _open(self.path) as f:
                self._cache[name] = _frame(f[name][:])
        return self._cache[name]

    def refresh(self):
        """Forget the cached tables (a running campaign may have added rows)."""
        self._cache.clear()

    @property
    def runs(self):
        """One row per `sweep` invocation."""
        return self._table("runs")

    @property
    def tasks(self):
        """One row per task attempt (reruns of a key included; see `final`)."""
        return self._table("tasks")

    @property
    def final(self):
        """The final attempt of every task key: the rows to analyse."""
        t = self.tasks
        return t[t.final == 1]

    @property
    def calls(self):
        """One row per LLM request (texts: request_off/_len, response_off/_len).

        cached_prompt_tokens, reasoning_tokens and the version that answered
        (served_model, system_fingerprint, served_model_id) are 0 / "" in
        files written before llm4hep recorded them."""
        return self._table("calls")

    @property
    def execs(self):
        """One row per execution of code, a tool or a check program."""
        return self._table("execs")

    @property
    def checks(self):
        """One row per hidden check and run that judged it: `run` is the task's
        own run, or a later `llm4hep rescore` run (runs.kind == "rescore") that
        judged the kept outputs again; 0 in files written before the column.
        The sweep's verdicts: rows whose run is their task's run (or 0)."""
        return self._table("checks")

    @property
    def annotations(self):
        """Post-hoc labels (e.g. from `llm4hep errors --llm`)."""
        return self._table("annotations")

    def served_versions(self):
        """Which versions answered each model name, as `llm4hep report --models`: one row
        per (model, served_model, system_fingerprint, served_model_id) with `calls` and
        `first_utc`/`last_utc` (the start of the first and last task, epoch seconds, that
        saw it). Calls without a recorded version (failed, scripted, older files) are left
        out."""
        cols = ["model", "served_model", "system_fingerprint", "served_model_id"]
        c = self.calls
        if "served_model" not in c:  # a file written before the columns existed
            return pd.DataFrame(columns=cols + ["calls", "first_utc", "last_utc"])
        c = c[(c.served_model != "") | (c.system_fingerprint != "") | (c.served_model_id != "")]
        c = c.merge(self.tasks[["task_id", "started_utc"]], on="task_id", how="left")
        g = c.groupby(cols, sort=True).agg(calls=("task_id", "size"), first_utc=("started_utc", "min"),
                                          last_utc=("started_utc", "max"))
        return g.reset_index()

    # ------------------------------------------------------------- text
    def text(self, off, length):
        """The text stored at (off, length) in the heap, as str. Reads only that slice."""
        with _open(self.path) as f:
            off, length = _ref(self.path, f["text"], off, length)
            if length == 0:
                return ""
            return f["text"][off:off + length].tobytes().decode("utf-8", errors="replace")

    def request(self, call):
        """The request body of a /calls row (a row of `calls`), as str, exactly as it was
        sent: rebuilt from its pieces (or, in a file of format_version 1, one heap slice)."""
        with _open(self.path) as f:
            if _pieced(f):
                return _request(self.path, f, call["request_off"], call["request_len"]).decode(
                    "utf-8", errors="replace")
        return self.text(call["request_off"], call["request_len"])

    def with_text(self, frame, name):
        """A copy of `frame` with a column `name` holding the texts of name_off/name_len.

        Meant for a selection (say, the calls of one task): each text is one slice read.
        """
        out = frame.copy()
        with _open(self.path) as f:
            if name == "request" and _pieced(f):
                out[name] = [_request(self.path, f, o, n).decode("utf-8", errors="replace")
                             for o, n in zip(frame["request_off"], frame["request_len"])]
                return out
            heap = f["text"]
            refs = [_ref(self.path, heap, o, n) for o, n in zip(frame[name + "_off"], frame[name + "_len"])]
            out[name] = [heap[o:o + n].tobytes().decode("utf-8", errors="replace") if n > 0 else ""
                         for o, n in refs]
        return out

    # ------------------------------------------------------------- tasks
    def task(self, task):
        """The /tasks row of a task id, or of "supervisor/coder/step/trial" (its final attempt).

        Model names may contain slashes ("openai/gpt-5"); the name is matched against the
        (supervisor, coder) pairs of the file. In sequential mode "model/step/trial" works too.
        """
        t = self.tasks
        if isinstance(task, (int, np.integer)) or (isinstance(task, str) and task.isdigit()):
            rows = t[t.task_id == int(task)]
            if rows.empty:
                raise KeyError(f"{self.path}: no task {task}")
            return rows.iloc[0]
        parts = str(task).rsplit("/", 2)
        if len(parts) != 3 or not parts[2].isdigit():
            raise KeyError(f"{task!r}: expected a task id or supervisor/coder/step/trial")
        models, step, trial = parts[0], parts[1], int(parts[2])
        sel = t[(t.step == step) & (t.trial == trial) & (t.final == 1)]
        pair = sel.supervisor + "/" + sel.coder
        rows = sel[(pair == models) | ((sel.supervisor == models) & (sel.coder == models))]
        if rows.empty:
            raise KeyError(f"{self.path}: no task {task!r}")
        return rows.iloc[0]

    def _task_rows(self, row):
        """calls, execs, checks rows of one task (reads only its rows)."""
        out = {}
        with _open(self.path) as f:
            for name, first, n in (("calls", row.calls_row, row.n_calls),
                                   ("execs", row.execs_row, row.n_execs),
                                   ("checks", row.checks_row, row.n_checks)):
                first, n = _rows(self.path, f[name], first, n)
                out[name] = _frame(f[name][first:first + n])
            refs = []
            pieced = _pieced(f)
            if pieced:  # requests are rebuilt from their pieces, not one heap slice
                out["calls"]["request"] = [
                    _request(self.path, f, o, n).decode("utf-8", errors="replace")
                    for o, n in zip(out["calls"]["request_off"], out["calls"]["request_len"])]
            for name, cols in (("calls", ("response", "attempt_log") if pieced else
                                ("request", "response", "attempt_log")),
                               ("execs", ("code", "stdout", "stderr")), ("checks", ("report",))):
                for c in cols:
                    if c + "_off" not in out[name]:  # a column a file of an older build lacks
                        continue
                    refs += [_ref(self.path, f["text"], o, n) for o, n in
                             zip(out[name][c + "_off"], out[name][c + "_len"]) if n != 0]
            # One task's texts are one region of the heap: read it once.
            region, lo = b"", 0
            if refs:
                lo = min(o for o, _ in refs)
                hi = max(o + n for o, n in refs)
                region = f["text"][lo:hi].tobytes()

        def get(o, n):
            o, n = int(o), int(n)
            return region[o - lo:o - lo + n].decode("utf-8", errors="replace") if n > 0 else ""

        return out, get

    def transcript(self, task):
        """The story of one task as text: what each agent was told and answered, each run
        of code with its output, then the hidden checks. `task`: id or
        "supervisor/coder/step/trial"."""
        # attribute access without clashing with Series methods (rank, step, ...)
        row = types.SimpleNamespace(**self.task(task).to_dict())
        t, get = self._task_rows(row)
        cost = "unknown" if np.isnan(row.cost_usd) else f"${row.cost_usd:.4f}"
        lines = [
            f"Task {row.task_id} (attempt {row.attempt}{', final' if row.final else ', superseded'})"
            f" — supervisor {row.supervisor}, coder {row.coder}, step {row.step}, trial {row.trial}",
            f"status {row.status}{' (infrastructure)' if row.status in self.infra_statuses else ''}"
            f" · approved {'yes' if row.approved else 'no'} · {row.iterations} iterations"
            f" · {row.api_calls} calls · tokens {row.prompt_tokens:,} in / {row.completion_tokens:,}"
            f" out · cost {cost} · wall {row.wall_s:.1f} s (LLM {row.llm_s:.1f} s,"
            f" exec {row.exec_s:.1f} s) · run {row.run}, rank {row.rank} on {row.host}",
        ]
        if row.error_summary_len > 0:
            lines.append(f"error ({row.error_category or 'uncategorised'}): "
                         f"{self.text(row.error_summary_off, row.error_summary_len)}")
        calls, execs = t["calls"], t["execs"]
        iterations = sorted(set(calls.iteration) | set(execs.iteration))
        for it in iterations:
            lines.append(f"\n=== iteration {it} ===")
            for c in calls[calls.iteration == it].itertuples():
                cost = "" if np.isnan(c.cost_usd) else f", ${c.cost_usd:.4f}"
                lines.append(f"--- {c.agent} call {c.call} ({c.model}, HTTP {c.http_status}, "
                             f"{c.attempts} attempt(s), {c.latency_s:.1f} s, "
                             f"{c.prompt_tokens}+{c.completion_tokens} tokens{cost}, "
                             f"{c.finish_reason or '-'})")
                served = getattr(c, "served_model", "")
                if served and served != c.model:
                    fp = getattr(c, "system_fingerprint", "")
                    lines.append(f"    served by {served}" + (f" ({fp})" if fp else ""))
                lines.append(">>> sent (newest message):")
                lines.append(_newest_message(c.request if hasattr(c, "request")
                                             else get(c.request_off, c.request_len)))
                if c.attempts > 1 and hasattr(c, "attempt_log_off"):
                    lines.append("... attempts:")
                    lines.append(_indent(get(c.attempt_log_off, c.attempt_log_len)))
                lines.append("<<< answer:")
                lines.append(_answer(get(c.response_off, c.response_len)))
            for e in execs[(execs.iteration == it) & (execs.kind != "check")].itertuples():
                lines += _exec_lines(e, get)
        lines.append("\n=== checks ===")
        for c in t["checks"].itertuples():
            extra = "" if np.isnan(c.max_rel_diff) else f", max rel diff {c.max_rel_diff:.3g}"
            lines.append(f"[{'PASS' if c.passed else 'FAIL'}] {c.check} ({c.n_bad} bad{extra})")
            rep = get(c.report_off, c.report_len)
            if rep:
                lines.append(_indent(rep))
        for e in execs[execs.kind == "check"].itertuples():
            lines += _exec_lines(e, get)
        ann = self.annotations
        for a in ann[ann.task_id == row.task_id].itertuples():
            lines.append(f"\n=== annotation by {a.source}: {a.error_category} ===")
            lines.append(self.text(a.text_off, a.text_len))
        return "\n".join(lines) + "\n"

    def summary(self):
        """Final rows by (supervisor, coder, step): tasks, successes, success rate."""
        f = self.final
        model = f[~f.status.isin(self.infra_statuses)]
        g = model.groupby(["supervisor", "coder", "step"]).success
        return pd.DataFrame({"tasks": g.size(), "success": g.sum(), "rate": g.mean()})


def _indent(s, pad="    "):
    return "\n".join(pad + line for line in s.rstrip("\n").split("\n"))


def _content(x):
    if isinstance(x, str):
        return x
    if isinstance(x, list):  # content parts
        return "\n".join(p.get("text", json.dumps(p)) if isinstance(p, dict) else str(p) for p in x)
    return json.dumps(x)


def _newest_message(request):
    """The last message of an OpenAI-style request body (the whole body if not JSON)."""
    try:
        msg = json.loads(request)["messages"][-1]
    except (ValueError, KeyError, IndexError, TypeError):
        return _indent(request)
    head = f"[{msg.get('role', '?')}]"
    return _indent(head + " " + _content(msg.get("content") or ""))


def _answer(response):
    """The answer text (and tool calls) of a response body (the body if not JSON)."""
    try:
        msg = json.loads(response)["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        return _indent(response)
    out = _content(msg.get("content") or "")
    for tc in msg.get("tool_calls") or []:
        fn = tc.get("function", {})
        out += f"\n[tool call] {fn.get('name')}({fn.get('arguments')})"
    return _indent(out)


def _exec_lines(e, get):
    how = f"killed by signal {e.signal}" if e.signal else f"exit {e.exit_code}"
    flags = (" TIMED OUT" if e.timed_out else "") + (" output truncated" if e.truncated else "")
    out = [f"--- {e.kind} run ({how}, {e.wall_s:.1f} s, {e.max_rss_kb} kB, {e.isolation}){flags}"]
    for label, o, n in (("code", e.code_off, e.code_len), ("stdout", e.stdout_off, e.stdout_len),
                        ("stderr", e.stderr_off, e.stderr_len)):
        if n > 0:
            out += [f"[{label}]", _indent(get(o, n))]
    return out


def open_results(path):
    """Open an llm4hep results file; returns a `Results` with DataFrames and transcripts."""
    return Results(path)


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print("usage: llm4hep.py RESULTS.h5 [TASK]   (TASK: id or supervisor/coder/step/trial)")
        return 2
    r = open_results(argv[1])
    if len(argv) > 2:
        sys.stdout.write(r.transcript(argv[2]))
    else:
        print(f"{r.path}: campaign {r.campaign}, {len(r.tasks)} attempts, "
              f"{len(r.final)} final tasks")
        print(r.summary().to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
