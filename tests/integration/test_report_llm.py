"""`llm4hep errors --llm` and `explain` through the real LLM client: a
scripted annotator (the scripted backend answers agent "annotator" by step
and call like any other agent) and the same script served over HTTP by the
loopback test server, whose recorded requests show exactly what was sent."""
import fcntl
import json
import os
import shutil
import subprocess

import h5py
import pytest

from campaign_util import BIN, SRC, make_campaign, output_of, run_sweep, sandbox_tmp

from llm_testkit import LLMServer

# call 0: errors --llm, call 1: explain
ANNOTATOR = """\
usage: {prompt_tokens: 1000, completion_tokens: 40}
steps:
  double:
    annotator:
      - "The code writes 41 instead of 42: it reads the wrong field.\\n\\n**Category:** `wrong_branch`"
      - "ROOT CAUSE: the coder wrote 41.\\nRESPONSIBLE: coder\\nPATTERN: the same code three times."
  square:
    annotator:
      - "No code was written at all. I would call this Function Calling trouble."
      - "ROOT CAUSE: no code.\\nRESPONSIBLE: coder\\nPATTERN: refused every time."
"""


def run(*args, timeout=120):
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def annotations(h5):
    with h5py.File(h5, "r") as f:
        a = f["annotations"][:]
        t = f["tasks"][:]
        out = []
        for row in a:
            off, n = int(row["text_off"]), int(row["text_len"])
            out.append((int(row["task_id"]), row["source"].decode(),
                        row["error_category"].decode(), bytes(f["text"][off:off + n]).decode()))
    return out, t


@pytest.fixture(scope="module")
def campaign():
    cfg = make_campaign(None, ("scripted/good", "scripted/wrong"), trials=1, name="llm-annot",
                        extra="retry: {max_attempts: 1, base_s: 0.1, max_s: 0.1}\n")
    d = os.path.dirname(cfg)
    with open(os.path.join(d, "scripted", "annotator.yml"), "w") as f:
        f.write(ANNOTATOR)
    r = run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    return cfg, output_of(cfg)


def task_ids(h5):
    with h5py.File(h5, "r") as f:
        t = f["tasks"][:]
    return {(r["supervisor"].decode(), r["step"].decode()): int(r["task_id"]) for r in t}


def test_scripted_annotator_categorises_each_failure_once(campaign):
    cfg, out = campaign
    ids = task_ids(out)
    r = run("errors", out, "--llm", "scripted/annotator", "--config", cfg)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 task(s) categorised by llm:scripted/annotator, 0 already annotated" in r.stdout
    ann, tasks = annotations(out)
    got = {(tid, src): cat for tid, src, cat, _ in ann}
    assert got == {(ids[("scripted/wrong", "double")], "llm:scripted/annotator"): "wrong_branch",
                   (ids[("scripted/wrong", "square")], "llm:scripted/annotator"): "function_calling"}
    assert any("reads the wrong field" in text for *_, text in ann)
    # the rule-based column is untouched
    rules = {(t["supervisor"].decode(), t["step"].decode()): t["error_category"].decode()
             for t in tasks}
    assert rules[("scripted/wrong", "double")] == "semantic"
    assert rules[("scripted/good", "double")] == ""
    # the journal has them too (a rebuild keeps them)
    assert open(out + ".journal", "rb").read().count(b"llm:scripted/annotator") == 2
    # again: nothing is asked twice
    r = run("errors", out, "--llm", "scripted/annotator", "--config", cfg)
    assert r.returncode == 0, r.stderr
    assert "0 task(s) categorised by llm:scripted/annotator, 2 already annotated" in r.stdout
    assert len(annotations(out)[0]) == 2
    # the counts: rules and the annotator side by side
    r = run("errors", out)
    assert r.returncode == 0, r.stderr
    assert "rules (the error_category column)" in r.stdout and "llm:scripted/annotator" in r.stdout
    js = json.loads(run("errors", out, "--format", "json").stdout)
    src = {s["source"]: s["counts"] for s in js["sources"]}
    llm = {c["step"]: c for c in src["llm:scripted/annotator"]}
    assert llm["double"]["wrong_branch"] == 1 and llm["square"]["function_calling"] == 1
    rule = {c["step"]: c for c in src["rules"]}
    assert rule["double"]["semantic"] == 1 and rule["double"]["failures"] == 1
    # show prints the annotation
    r = run("show", out, "scripted/wrong/double/1")
    assert "=== annotation by llm:scripted/annotator: wrong_branch ===" in r.stdout


def test_explain_prints_the_models_account(campaign):
    cfg, out = campaign
    r = run("explain", out, "scripted/wrong/scripted/wrong/double/1", "--llm", "scripted/annotator",
            "--config", cfg)
    assert r.returncode == 0, r.stderr
    assert "ROOT CAUSE: the coder wrote 41." in r.stdout and "RESPONSIBLE: coder" in r.stdout
    assert r.stdout.startswith("Task ") and "failed_validation" in r.stdout.splitlines()[0]
    r = run("explain", out, "nobody/double/1", "--llm", "scripted/annotator", "--config", cfg)
    assert r.returncode == 2 and "no task" in r.stderr
    r = run("explain", out, "1", "--llm", "scripted/nobody", "--config", cfg)
    assert r.returncode == 2 and "nobody" in r.stderr


def http_config(cfg, srv, name):
    """The campaign's config plus an HTTP endpoint for served/annotator."""
    path = os.path.join(os.path.dirname(cfg), name)
    with open(cfg) as f:
        text = f.read()
    text = text.replace("endpoints:\n", f"endpoints:\n  http: {{base_url: '{srv.base_url}'}}\n")
    text += 'models_config: {"served/annotator": {endpoint: http}}\n'
    with open(path, "w") as f:
        f.write(text)
    return path


def test_http_annotator_requests_carry_prompt_transcript_and_position(campaign):
    cfg, out = campaign
    ids = task_ids(out)
    sdir = os.path.join(sandbox_tmp(), "served")
    shutil.copytree(os.path.join(os.path.dirname(cfg), "scripted"), sdir)
    with LLMServer(scripted_dir=sdir) as srv:
        hcfg = http_config(cfg, srv, "http.yml")
        r = run("errors", out, "--llm", "served/annotator", "--config", hcfg)
        assert r.returncode == 0, r.stdout + r.stderr
        reqs = [q for q in srv.requests() if q["path"].endswith("/chat/completions")]
        assert len(reqs) == 2
        prompt = open(os.path.join(SRC, "prompts", "error_analysis.txt")).read()
        for q in reqs:
            h = {k.lower(): v for k, v in q["headers"].items()}
            assert h["x-llm4hep-agent"] == "annotator" and h["x-llm4hep-call"] == "0"
            assert h["x-llm4hep-trial"] == "1"
            body = json.loads(q["body"])
            assert body["model"] == "served/annotator"
            assert body["messages"][0] == {"role": "system", "content": prompt}
            user = body["messages"][1]["content"]
            tid = ids[("scripted/wrong", h["x-llm4hep-step"])]
            assert f"Task {tid} (attempt 1, final): supervisor scripted/wrong" in user
            assert "=== checks ===" in user
        ann, _ = annotations(out)
        assert sorted(c for _, s, c, _ in ann if s == "llm:served/annotator") == \
            ["function_calling", "wrong_branch"]
        # explain: call 1 and the explain prompt
        srv.reset()
        r = run("explain", out, str(ids[("scripted/wrong", "square")]), "--llm", "served/annotator",
                "--config", hcfg)
        assert r.returncode == 0, r.stderr
        assert "ROOT CAUSE: no code." in r.stdout
        (q,) = srv.requests()
        assert q["headers"].get("X-LLM4HEP-Call", q["headers"].get("x-llm4hep-call")) == "1"
        body = json.loads(q["body"])
        assert body["messages"][0]["content"] == open(os.path.join(SRC, "prompts", "explain.txt")).read()


def test_refusals_cost_nothing(campaign, tmp_path):
    cfg, out = campaign
    sdir = os.path.join(sandbox_tmp(), "served2")
    shutil.copytree(os.path.join(os.path.dirname(cfg), "scripted"), sdir)
    with LLMServer(scripted_dir=sdir) as srv:
        hcfg = http_config(cfg, srv, "http2.yml")
        hcfg_text = open(hcfg).read().replace("served/annotator", "served2/annotator")
        open(hcfg, "w").write(hcfg_text)
        # a campaign holds the file: refused before any request
        with open(out + ".lock", "r+") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            lk.seek(0)
            lk.truncate()
            lk.write("host testhost pid 4242\n")
            lk.flush()
            r = run("errors", out, "--llm", "served2/annotator", "--config", hcfg)
            fcntl.flock(lk, fcntl.LOCK_UN)
        assert r.returncode == 2 and "held by a running campaign" in r.stderr, r.stderr
        assert "testhost pid 4242" in r.stderr
        # no journal beside the file (a copy): refused too
        copy = tmp_path / "copy.h5"
        shutil.copy(out, copy)
        r = run("errors", copy, "--llm", "served2/annotator", "--config", hcfg)
        assert r.returncode == 2 and "journal" in r.stderr
        assert srv.requests() == []
        # the model fails: exit 3, nothing stored, a later run succeeds
        srv.faults([], default={"fault": "status", "status": 500})
        r = run("errors", out, "--llm", "served2/annotator", "--config", hcfg)
        assert r.returncode == 3, r.stdout + r.stderr
        assert "could not be categorised" in r.stderr
        assert not [a for a in annotations(out)[0] if a[1] == "llm:served2/annotator"]
        srv.reset()
        r = run("errors", out, "--llm", "served2/annotator", "--config", hcfg)
        assert r.returncode == 0, r.stderr
        assert len([a for a in annotations(out)[0] if a[1] == "llm:served2/annotator"]) == 2
    # bad usage
    r = run("errors", out, "--llm", "x")
    assert r.returncode == 2 and "--config" in r.stderr
