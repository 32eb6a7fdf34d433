"""`llm4hep explain --failed / --all`: every failed (or every) task explained
through the real LLM client, each account stored in /annotations beside the
rule-based category, resumable, refused while a campaign holds the file, and
partial failures kept — over the scripted backend and the loopback HTTP
server."""
import fcntl
import os
import shutil
import subprocess

import h5py

from campaign_util import BIN, make_campaign, output_of, run_sweep, sandbox_tmp

from llm_testkit import LLMServer

# call 1 is explain's position; both models share the step's answer
ANNOTATOR = """\
usage: {prompt_tokens: 900, completion_tokens: 30}
steps:
  double:
    annotator:
      - "unused"
      - "ROOT CAUSE: the number written is 41.\\nRESPONSIBLE: coder\\nCATEGORY: semantic"
  square:
    annotator:
      - "unused"
      - "ROOT CAUSE: no code was written.\\nRESPONSIBLE: coder\\nCATEGORY: function_calling"
"""
SOURCE = "explain:scripted/annotator"


def run(*args, timeout=120):
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def annotations(h5, source):
    with h5py.File(h5, "r") as f:
        a = f["annotations"][:]
        out = {}
        for row in a:
            if row["source"].decode() != source:
                continue
            off, n = int(row["text_off"]), int(row["text_len"])
            tid = int(row["task_id"])
            assert tid not in out, f"task {tid} annotated twice by {source}"
            out[tid] = (row["error_category"].decode(), bytes(f["text"][off:off + n]).decode())
    return out


def final_tasks(h5):
    with h5py.File(h5, "r") as f:
        t = f["tasks"][:]
    return {int(r["task_id"]): (r["supervisor"].decode(), r["step"].decode(),
                                r["status"].decode(), r["error_category"].decode())
            for r in t if r["final"] == 1}


def campaign():
    cfg = make_campaign(None, ("scripted/good", "scripted/wrong"), trials=1, name="explain-many",
                        extra="retry: {max_attempts: 1, base_s: 0.1, max_s: 0.1}\n")
    with open(os.path.join(os.path.dirname(cfg), "scripted", "annotator.yml"), "w") as f:
        f.write(ANNOTATOR)
    r = run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    return cfg, output_of(cfg)


def test_failed_then_all_stored_and_resumable():
    cfg, out = campaign()
    tasks = final_tasks(out)
    failed = {t for t, (_, _, st, _) in tasks.items() if st.startswith("failed_")}
    assert len(failed) == 2 and len(tasks) == 4
    r = run("explain", out, "--failed", "--llm", "scripted/annotator", "--config", cfg)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"2 task(s) explained by {SOURCE}, 0 already annotated by it" in r.stdout
    got = annotations(out, SOURCE)
    assert set(got) == failed
    for tid in failed:
        _, step, _, _ = tasks[tid]
        cat, text = got[tid]
        assert cat == {"double": "semantic", "square": "function_calling"}[step]
        assert text.startswith("ROOT CAUSE:")
        assert f"task {tid} scripted/wrong/scripted/wrong/{step}/1: " in r.stdout
    # resumable: nothing asked again
    r = run("explain", out, "--failed", "--llm", "scripted/annotator", "--config", cfg)
    assert r.returncode == 0 and f"0 task(s) explained by {SOURCE}, 2 already" in r.stdout
    # --all adds the successes, with no category
    r = run("explain", out, "--all", "--llm", "scripted/annotator", "--config", cfg)
    assert r.returncode == 0, r.stderr
    assert f"2 task(s) explained by {SOURCE}, 2 already annotated by it" in r.stdout
    got = annotations(out, SOURCE)
    assert set(got) == set(tasks)
    for tid, (model, _, status, _) in tasks.items():
        if status == "success":
            assert got[tid][0] == "" and model == "scripted/good"
    # the rule-based column is untouched
    assert final_tasks(out) == tasks
    # show prints a stored account
    wrong_double = [t for t, v in tasks.items() if v[:2] == ("scripted/wrong", "double")][0]
    r = run("show", out, str(wrong_double))
    assert f"=== annotation by {SOURCE}: semantic ===" in r.stdout
    assert "ROOT CAUSE: the number written is 41." in r.stdout
    # the errors table counts the source beside the rules
    r = run("errors", out)
    assert r.returncode == 0 and SOURCE in r.stdout


def test_refused_while_held_and_failures_kept_for_a_rerun():
    cfg, out = campaign()
    sdir = os.path.join(sandbox_tmp(), "served")
    shutil.copytree(os.path.join(os.path.dirname(cfg), "scripted"), sdir)
    with LLMServer(scripted_dir=sdir) as srv:
        hcfg = os.path.join(os.path.dirname(cfg), "http.yml")
        text = open(cfg).read().replace(
            "endpoints:\n", f"endpoints:\n  http: {{base_url: '{srv.base_url}'}}\n")
        text += 'models_config: {"served/annotator": {endpoint: http}}\n'
        with open(hcfg, "w") as f:
            f.write(text)
        with open(out + ".lock", "r+") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            r = run("explain", out, "--failed", "--llm", "served/annotator", "--config", hcfg)
            fcntl.flock(lk, fcntl.LOCK_UN)
        assert r.returncode == 2 and "held by a running campaign" in r.stderr
        assert srv.requests() == []
        # the first request fails, the second is answered: exit 3, one kept
        srv.faults([{"fault": "status", "status": 500, "count": 1}])
        r = run("explain", out, "--failed", "--llm", "served/annotator", "--config", hcfg)
        assert r.returncode == 3, r.stdout + r.stderr
        assert "1 task(s) could not be explained" in r.stderr
        assert len(annotations(out, "explain:served/annotator")) == 1
        # a rerun asks only about the one left
        srv.reset()
        r = run("explain", out, "--failed", "--llm", "served/annotator", "--config", hcfg)
        assert r.returncode == 0, r.stderr
        assert "1 task(s) explained by explain:served/annotator, 1 already" in r.stdout
        assert len([q for q in srv.requests() if q["path"].endswith("/chat/completions")]) == 1
        assert len(annotations(out, "explain:served/annotator")) == 2
    # bad usage: named, never dropped
    for args in (["--failed", "--all"], ["--failed", "--failed"], ["1", "--failed"]):
        r = run("explain", out, *args, "--llm", "scripted/annotator", "--config", cfg)
        assert r.returncode == 2, args
