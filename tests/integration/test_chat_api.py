"""test_chat_api.py — current chat APIs and the model versions actually
served (issue 16), through the real `llm4hep sweep` under MPI, real libcurl
to the loopback test server (tests/server/llm_server.py) and the results
file read back with h5py:

* the server behaves as OpenAI's reasoning models do: it refuses max_tokens
  (400, OpenAI's words) and takes max_completion_tokens and reasoning_effort;
  a model configured with max_tokens_param: max_completion_tokens succeeds;
  extra_body reaches the request verbatim; a colliding extra_body key is
  refused with FILE:LINE:COL;
* usage's reasoning and cached prompt tokens are recorded per call and the
  cached part is priced at cached_input_per_mtok;
* the server answers one alias with two versions (model, system_fingerprint,
  a proxy model-id header); /calls records them and `report --models` shows
  alias -> versions with call counts and dates in table, markdown and json;
* replay keeps working on a file with the new columns and on one without."""
import json
import os
import re
import subprocess
import urllib.error
import urllib.request

import h5py
import numpy as np
import pytest

import campaign_util as cu

SRC = cu.SRC
from llm_testkit import LLMServer

SCRIPTED = os.path.join(cu.FIXTURE, "scripted")
ALIAS = "scripted/good"
V1, FP1 = "good-2026-01-15", "fp_0a1b2c"
V2, FP2 = "good-2026-06-01", "fp_9f8e7d"
PRICE_IN, PRICE_CACHED, PRICE_OUT = 2.0, 0.5, 8.0


@pytest.fixture(scope="module")
def srv():
    with LLMServer(scripted_dir=SCRIPTED, extra_args=[
            "--reasoning-models", r"scripted/good", "--reasoning-tokens", "7",
            "--cached-tokens", "64",
            "--served-model", f"{ALIAS}={V1}@{FP1},{V2}@{FP2}",
            "--model-id-header", "x-litellm-model-id"]) as s:
        yield s


def post(srv, body):
    req = urllib.request.Request(srv.base_url + "/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json",
                                          "X-LLM4HEP-Step": "double", "X-LLM4HEP-Agent": "supervisor",
                                          "X-LLM4HEP-Trial": "1", "X-LLM4HEP-Call": "0"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read()), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), dict(e.headers)


def campaign(srv, model_opts, name, trials=2, extra=""):
    prices = (f"prices: {{{ALIAS}: {{input_per_mtok: {PRICE_IN}, output_per_mtok: {PRICE_OUT}, "
              f"cached_input_per_mtok: {PRICE_CACHED}}}}}\n")
    return cu.make_campaign(models=(ALIAS,), trials=trials, name=name,
                            endpoints="demo: {base_url: '%s'}" % srv.base_url,
                            model_defaults="{endpoint: demo%s}" % model_opts,
                            extra=prices + "retry: {max_attempts: 2, base_s: 0.1, max_s: 0.2}\n" + extra)


def calls_of(h5):
    with h5py.File(h5, "r") as f:
        return f["calls"][:], f


def report(*args):
    return subprocess.run([cu.BIN, "report", *args], capture_output=True, text=True, timeout=120)


def test_server_refuses_max_tokens_for_a_reasoning_model(srv):
    """The rule the tests below rely on, shown directly."""
    msgs = [{"role": "user", "content": "hi"}]
    st, body, _ = post(srv, {"model": ALIAS, "messages": msgs, "max_tokens": 64})
    assert st == 400
    assert body["error"]["message"].startswith("Unsupported parameter: 'max_tokens' is not supported")
    assert body["error"]["param"] == "max_tokens" and "max_completion_tokens" in body["error"]["message"]
    st, body, hdr = post(srv, {"model": ALIAS, "messages": msgs, "max_completion_tokens": 64,
                               "reasoning_effort": "low"})
    assert st == 200
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 7
    assert body["usage"]["prompt_tokens_details"]["cached_tokens"] == 64
    assert body["model"] in (V1, V2) and body["system_fingerprint"] in (FP1, FP2)
    assert hdr["x-litellm-model-id"] == "deploy-" + body["model"]
    # a model that is not a reasoning model refuses reasoning_effort
    st, body, _ = post(srv, {"model": "echo", "messages": msgs, "reasoning_effort": "low"})
    assert st == 400 and "reasoning_effort" in body["error"]["message"]


def test_max_tokens_refused_then_max_completion_tokens_served_and_recorded(srv):
    # reproduced: the default parameter name fails against a reasoning model
    cfg = campaign(srv, ", max_tokens: 512", "plain", trials=1)
    r = cu.run_sweep(cfg, 2)
    rows = cu.final_rows(cu.output_of(cfg))
    assert len(rows) == 2 and not any(rows["success"]), r.stdout + r.stderr
    # the endpoint refused our parameter, not the model's work: infrastructure
    assert set(rows["status"]) == {b"error_api"}, rows["status"]
    with h5py.File(cu.output_of(cfg), "r") as f:
        resp = cu.text(f, f["calls"][0], "response")
    assert "Unsupported parameter: 'max_tokens'" in resp
    # and the task says which key fixes it
    with h5py.File(cu.output_of(cfg), "r") as f:
        t = f["tasks"][:]
        t = t[t["final"] == 1][0]
        summary = cu.text(f, t, "error_summary") or t["error_summary"].decode()
    assert "set max_tokens_param: max_completion_tokens" in summary, summary

    # configured as the model needs: it works, and every call says what it used
    cfg = campaign(srv, ", max_tokens: 512, max_tokens_param: max_completion_tokens, "
                        "reasoning_effort: high, extra_body: {service_tier: flex, "
                        "metadata: {campaign: hgg, tags: [a, 1, true]}}", "reasoning")
    since = max([q["seq"] for q in srv.requests()] or [0])
    r = cu.run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    h5 = cu.output_of(cfg)
    rows = cu.final_rows(h5)
    assert len(rows) == 4 and all(rows["success"]), rows["status"]
    sent = [json.loads(q["body"]) for q in srv.requests(since) if q["path"].endswith("/chat/completions")]
    assert sent
    for b in sent:
        assert "max_tokens" not in b and b["max_completion_tokens"] == 512
        assert b["reasoning_effort"] == "high"
        assert b["service_tier"] == "flex"
        assert b["metadata"] == {"campaign": "hgg", "tags": ["a", 1, True]}
    with h5py.File(h5, "r") as f:
        calls = f["calls"][:]
        assert len(calls) == len(sent)
        for c in calls:
            assert c["http_status"] == 200
            assert c["prompt_tokens"] == 100 and c["completion_tokens"] == 20
            assert c["cached_prompt_tokens"] == 64 and c["reasoning_tokens"] == 7
            want = ((100 - 64) * PRICE_IN + 64 * PRICE_CACHED + 20 * PRICE_OUT) / 1e6
            assert c["cost_usd"] == pytest.approx(want)
            served = c["served_model"].decode()
            fp = c["system_fingerprint"].decode()
            assert (served, fp) in ((V1, FP1), (V2, FP2))
            assert c["served_model_id"].decode() == "deploy-" + served
        assert {c["served_model"].decode() for c in calls} == {V1, V2}
        tasks = f["tasks"][:]
        for t in tasks[tasks["final"] == 1]:
            assert t["cost_usd"] == pytest.approx(t["api_calls"] * want)
    n1 = int(sum(c["served_model"].decode() == V1 for c in calls))

    # report --models: alias -> both versions, counts, dates; three formats
    r = report(h5, "--models", "--format", "json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    got = {(m["alias"], m["served_model"], m["system_fingerprint"], m["served_model_id"]): m
           for m in j["models"]}
    assert set(got) == {(ALIAS, V1, FP1, "deploy-" + V1), (ALIAS, V2, FP2, "deploy-" + V2)}
    assert got[(ALIAS, V1, FP1, "deploy-" + V1)]["calls"] == n1
    assert sum(m["calls"] for m in j["models"]) == len(calls)
    for m in j["models"]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["first_utc"])
        assert m["first_utc"] <= m["last_utc"]
    assert j["calls_without_version"] == 0
    r = report(h5, "--models")
    assert r.returncode == 0, r.stderr
    line1 = next(x for x in r.stdout.splitlines() if V1 in x)
    assert FP1 in line1 and re.search(r"\b%d\b" % n1, line1)
    alias_line = next(x for x in r.stdout.splitlines() if x.startswith(ALIAS))
    assert re.match(r"%s\s+2\s" % re.escape(ALIAS), alias_line)  # two versions served
    r = report(h5, "--models", "--format", "markdown")
    assert r.returncode == 0 and "| " + V2 in r.stdout.replace("|  ", "| ")
    # the Python reader says the same
    import llm4hep
    sv = llm4hep.open_results(h5).served_versions()
    assert sorted(zip(sv.served_model, sv.system_fingerprint, sv.calls)) == \
        sorted((m["served_model"], m["system_fingerprint"], m["calls"]) for m in j["models"])
    assert llm4hep.open_results(strip_new_columns(h5)).served_versions().empty
    # a results file carrying escapes in these columns: shown, never obeyed
    evil = h5.replace(".h5", "-evil.h5")
    subprocess.run(["cp", h5, evil], check=True)
    with h5py.File(evil, "r+") as f:
        c = f["calls"][:]
        c["served_model"][0] = b"x\x1b]0;pwned\x07\x1b[2Jy\nz"
        f["calls"][:] = c
    r = report(evil, "--models")
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout
    assert "x^[]0;pwned^G^[[2Jy?z" in r.stdout
    # show names the version behind each answer
    r = subprocess.run([cu.BIN, "show", h5, str(int(rows[0]["task_id"]))], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert re.search(r"served by good-2026-\d\d-\d\d \(fp_", r.stdout), r.stdout[-2000:]
    # the flag does not silently drop the report's other options
    r = report(h5, "--models", "--by", "step")
    assert r.returncode == 2 and "--models" in r.stderr

    # replay of this file: the recorded versions come back
    out = replay(h5, "replayed")
    with h5py.File(out, "r") as f:
        rc = f["calls"][:]
        assert len(rc) == len(calls)
        assert {c["served_model"].decode() for c in rc} == {V1, V2}
        assert all(c["served_model_id"].decode().startswith("deploy-") for c in rc)
        assert all(c["reasoning_tokens"] == 7 and c["cached_prompt_tokens"] == 64 for c in rc)

    # a file written before the columns existed: report and replay still work
    old = strip_new_columns(h5)
    r = report(old, "--models", "--format", "json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["calls_without_version"] == len(calls)
    assert j["models"] == [] or all(m["served_model"] in (V1, V2) for m in j["models"])
    out = replay(old, "replayed-old")
    with h5py.File(out, "r") as f:
        rc = f["calls"][:]
        assert len(rc) == len(calls)
        # the served model comes back from the recorded response body itself
        assert {c["served_model"].decode() for c in rc} == {V1, V2}
        assert all(c["served_model_id"] == b"" for c in rc)


NEW_COLUMNS = ("cached_prompt_tokens", "reasoning_tokens", "served_model", "system_fingerprint",
               "served_model_id")


def strip_new_columns(h5):
    """A copy of h5 whose /calls lacks this issue's columns (as older files)."""
    old = h5.replace(".h5", "-old.h5")
    subprocess.run(["cp", h5, old], check=True)
    with h5py.File(old, "r+") as f:
        calls = f["calls"][:]
        names = [n for n in calls.dtype.names if n not in NEW_COLUMNS]
        dt = np.dtype([(n, calls.dtype.fields[n][0]) for n in names])
        data = np.empty(len(calls), dtype=dt)
        for n in names:
            data[n] = calls[n]
        del f["calls"]
        f.create_dataset("calls", data=data, maxshape=(None,), chunks=(512,), compression="gzip")
    with h5py.File(old, "r") as f:
        assert "served_model" not in f["calls"].dtype.names
    return old


def replay(h5, name):
    """Replay every task of h5 through `llm4hep sweep`; returns the new file."""
    cfg = cu.make_campaign(models=(ALIAS,), trials=2, name=name,
                           endpoints="demo: {provider: replay, file: '%s'}" % h5,
                           model_defaults="{endpoint: demo, max_tokens: 512, "
                                          "max_tokens_param: max_completion_tokens, "
                                          "reasoning_effort: high}")
    r = cu.run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    out = cu.output_of(cfg)
    rows = cu.final_rows(out)
    assert len(rows) == 4 and all(rows["success"]), rows["status"]
    return out


@pytest.mark.parametrize("opts, key, message", [
    ("extra_body: {max_tokens: 5}", "extra_body.max_tokens", "use max_tokens and max_tokens_param"),
    ("extra_body: {messages: []}", "extra_body.messages", "llm4hep sets 'messages' itself"),
    ("extra_body: {reasoning_effort: low}", "extra_body.reasoning_effort", "reasoning_effort key"),
    ("extra_body: [1, 2]", "extra_body", "expected a mapping"),
    ("max_tokens_param: max_output_tokens", "max_tokens_param", "max_completion_tokens"),
    ("reasoning_effort: 'very high'", "reasoning_effort", "expected an effort level"),
])
def test_bad_chat_api_options_name_file_line_col(srv, opts, key, message):
    cfg = campaign(srv, "", "bad", trials=1,
                   extra="models_config:\n  %s:\n    %s\n" % (ALIAS, opts))
    r = subprocess.run([cu.BIN, "sweep", cfg, "--dry-run"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    m = re.search(r"config\.yml:(\d+):(\d+): key 'models_config\.%s\.%s'" % (re.escape(ALIAS), re.escape(key)),
                  r.stderr)
    assert m, r.stderr
    assert message in r.stderr


def test_cached_price_defaults_to_the_input_price(srv):
    cfg = cu.make_campaign(models=(ALIAS,), trials=1, name="noprice",
                           endpoints="demo: {base_url: '%s'}" % srv.base_url,
                           model_defaults="{endpoint: demo, max_tokens_param: max_completion_tokens}",
                           extra=f"prices: {{{ALIAS}: {{input_per_mtok: {PRICE_IN}, "
                                 f"output_per_mtok: {PRICE_OUT}}}}}\n")
    r = cu.run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    with h5py.File(cu.output_of(cfg), "r") as f:
        for c in f["calls"][:]:
            assert c["cached_prompt_tokens"] == 64
            assert c["cost_usd"] == pytest.approx((100 * PRICE_IN + 20 * PRICE_OUT) / 1e6)


def test_bad_model_id_header_names_file_line_col(srv):
    cfg = cu.make_campaign(models=(ALIAS,), trials=1, name="badhdr",
                           endpoints="demo: {base_url: '%s', model_id_header: 'x model: id'}" % srv.base_url)
    r = subprocess.run([cu.BIN, "sweep", cfg, "--dry-run"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    assert re.search(r"config\.yml:\d+:\d+: key 'endpoints\.demo\.model_id_header': expected an HTTP "
                     r"header name", r.stderr), r.stderr
