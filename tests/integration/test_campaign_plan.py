"""A campaign runs the plan it started with (issue 14 §2): real MPI ranks,
real task children, results read back with h5py.

- inputs edited while it runs (models file, prompt, scripted answer) change
  nothing: the tasks run with the bytes rank 0 read at start, and the
  results file holds those bytes (/inputs) with their SHA-256;
- an assignment or a result under a forged task key is refused (the test
  hook LLM4HEP_TEST_FORGE_KEY makes the slot or the child lie);
- a resume with an added model extends the plan, one with a changed prompt
  is refused naming the file, and with --accept-changed-inputs it runs and
  the runs are told apart (/runs input_series, report);
- a binary replaced mid-run does not change what the children run."""
import hashlib
import json
import os
import shutil
import subprocess
import time

import h5py

from campaign_util import (BIN, MPIEXEC, final_rows, keys_unique, make_campaign, mpi_env,
                           output_of, run_sweep, start_sweep, tasks, text)


def journal_of(cfg):
    return output_of(cfg) + ".journal"


def running(p):
    """The sweep (a Popen, or a campaign_util.Job) has not ended."""
    if isinstance(p, subprocess.Popen):
        return p.poll() is None
    return "job: launcher exited with" not in p.output()


def finish(p, seconds=600):
    """Wait for a Job's launcher to end; (its exit status, its output)."""
    rc = p.wait_launcher(seconds)
    out = p.output()
    p.end()
    return rc, out


def wait_first_result(cfg, p, deadline=180):
    """Wait (event, not a sleep) until the journal holds a task record: the
    campaign has started and its snapshot is taken, and most tasks are still
    to start."""
    end = time.time() + deadline
    while time.time() < end:
        assert running(p), "the sweep ended before its first result"
        try:
            with open(journal_of(cfg), "rb") as f:
                if b"L4HJT" in f.read():
                    return
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    raise AssertionError("no task finished within %d s" % deadline)


def use_models_file(cfg, names):
    root = os.path.dirname(cfg)
    with open(os.path.join(root, "models.txt"), "w") as f:
        f.write("".join(n + "\n" for n in names))
    body = open(cfg).read()
    start = body.index("models: [")
    end = body.index("\n", start)
    with open(cfg, "w") as f:
        f.write(body[:start] + "models_file: models.txt" + body[end:])


def inputs_of(h5path, run):
    """{path: (sha256, bytes)} of a run's /inputs rows."""
    out = {}
    with h5py.File(h5path, "r") as f:
        for row in f["inputs"][:]:
            if row["run"] != run:
                continue
            path = text(f, row, "path")
            off, n = int(row["content_off"]), int(row["content_len"])
            content = bytes(f["text"][off:off + n]) if n else b""
            out[path] = (row["sha256"].decode(), content)
    return out


def test_inputs_edited_mid_run_keep_the_plan(tmp_path):
    cfg = make_campaign(tmp_path, ("scripted/slow",), trials=4)
    use_models_file(cfg, ["scripted/slow"])
    root = os.path.dirname(cfg)
    prompt = os.path.join(root, "prompts", "double.txt")
    answer = os.path.join(root, "scripted", "answers", "slow.py")
    script = os.path.join(root, "scripted", "slow.yml")
    models = os.path.join(root, "models.txt")
    originals = {p: open(p, "rb").read() for p in (prompt, answer, script, models)}

    p = start_sweep(cfg, 3)
    wait_first_result(cfg, p)
    # Everything a task reads, changed while the campaign runs.
    with open(models, "w") as f:
        f.write("scripted/good\nscripted/wrong\n")
    with open(prompt, "w") as f:
        f.write("EDITED PROMPT: write 41 to {{workspace}}/answer.txt\n")
    with open(answer, "w") as f:
        f.write("import os\nopen(os.path.join(os.environ.get('LLM4HEP_WORKSPACE', '.'), "
                "'answer.txt'), 'w').write('41\\n')\n")
    with open(script, "a") as f:
        f.write("# EDITED\n")
    rc, out = finish(p)
    assert rc == 0, out
    assert "complete" in out

    h5 = output_of(cfg)
    rows = final_rows(h5)
    assert len(rows) == 8 and keys_unique(rows)
    assert {r["supervisor"].decode() for r in rows} == {"scripted/slow"}
    assert all(r["status"].decode() == "success" for r in rows), rows["status"]
    with h5py.File(h5, "r") as f:
        for c in f["calls"][:]:
            assert "EDITED" not in text(f, c, "request")
            assert "EDITED" not in text(f, c, "response")
        for e in f["execs"][:]:
            assert "41" not in text(f, e, "code")
        runs = f["runs"][:]
        assert len(runs) == 1 and len(runs[0]["inputs_sha256"]) == 64
    # The results file holds the originals, with their hashes.
    snap = inputs_of(h5, 1)
    for path, data in originals.items():
        assert path in snap, (path, sorted(snap))
        sha, content = snap[path]
        assert content == data and sha == hashlib.sha256(data).hexdigest(), path
    assert os.path.join(root, "suite.yml") in snap and cfg in snap


def test_models_file_edited_mid_run_http_endpoint_is_asked_for_the_original_models(tmp_path):
    """The issue's reproduction: an OpenAI-compatible endpoint on loopback, the
    models file edited while the sweep runs: the endpoint is only ever asked
    for the models the campaign started with."""
    from llm_testkit import LLMServer
    fixture = os.path.join(os.path.dirname(__file__), "..", "fixtures", "campaign", "scripted")
    with LLMServer(scripted_dir=fixture) as srv:
        cfg = make_campaign(tmp_path, ("scripted/slow",), trials=3,
                            endpoints=f"srv: {{base_url: '{srv.base_url}'}}",
                            model_defaults="{endpoint: srv}")
        use_models_file(cfg, ["scripted/slow"])
        p = start_sweep(cfg, 3)
        wait_first_result(cfg, p)
        with open(os.path.join(os.path.dirname(cfg), "models.txt"), "w") as f:
            f.write("scripted/good\nscripted/wrong\n")
        rc, out = finish(p)
        assert rc == 0, out
        asked = {json.loads(q["body"])["model"] for q in srv.requests()
                 if q["path"].endswith("/chat/completions")}
    assert asked == {"scripted/slow"}, asked
    rows = final_rows(output_of(cfg))
    assert len(rows) == 6 and {r["coder"].decode() for r in rows} == {"scripted/slow"}


def test_check_program_changed_mid_run_never_judges_a_task(tmp_path):
    """A check program is run from the suite directory (the sandbox binds
    it): a task verifies it against the snapshot first, so a program edited
    mid-run judges nothing (the task is an infrastructure error naming it)."""
    cfg = make_campaign(tmp_path, ("scripted/slow",), trials=4)
    root = os.path.dirname(cfg)
    check = os.path.join(root, "ok_check.py")
    with open(check, "w") as f:
        f.write("import json\nprint(json.dumps({'ok': 1}))\n")
    suite = os.path.join(root, "suite.yml")
    body = open(suite).read().replace(
        "      - {type: text, file: answer.txt, patterns: ['^42$']}\n",
        "      - {type: text, file: answer.txt, patterns: ['^42$']}\n"
        "      - {type: command, run: [python, ok_check.py, '{{workspace}}'], "
        "expect: {ok: {min: 1}}}\n", 1)
    with open(suite, "w") as f:
        f.write(body)
    rb = subprocess.run([BIN, "reference", suite], capture_output=True, text=True, timeout=120)
    assert rb.returncode == 0, rb.stdout + rb.stderr
    p = start_sweep(cfg, 3)
    wait_first_result(cfg, p)
    with open(check, "w") as f:
        f.write("import json\nprint(json.dumps({'ok': 0}))\n")
    rc, out = finish(p)
    assert rc == 0, out
    h5 = output_of(cfg)
    t = tasks(h5)
    with h5py.File(h5, "r") as f:
        summaries = [text(f, row, "error_summary") for row in t]
    statuses = [row["status"].decode() for row in t]
    assert "failed_validation" not in statuses, list(zip(statuses, summaries))
    refused = [s for s in summaries if "changed since the campaign started" in s]
    assert refused and all(check in s for s in refused), summaries
    for st, s in zip(statuses, summaries):
        assert st == "success" or (st.startswith("error_") and s in refused), (st, s)


def forged(tmp_path, mode):
    cfg = make_campaign(tmp_path, ("scripted/good",), trials=1)
    r = run_sweep(cfg, 2, env={"LLM4HEP_TEST_FORGE_KEY": mode})
    out = output_of(cfg)
    t = tasks(out)
    with h5py.File(out, "r") as f:
        summaries = [text(f, row, "error_summary") for row in t]
    # for reference, the plan's keys: a clean run of the same campaign
    clean = make_campaign(tmp_path, ("scripted/good",), trials=1)
    r2 = run_sweep(clean, 2)
    assert r2.returncode == 0, r2.stdout + r2.stderr
    plan_keys = {bytes(k) for k in tasks(output_of(clean))["key"]}
    return r, t, summaries, plan_keys


def test_forged_key_in_assignment_is_refused_by_the_child(tmp_path):
    r, t, summaries, plan_keys = forged(tmp_path, "assignment")
    assert len(t) > 0, r.stdout + r.stderr
    assert {bytes(k) for k in t["key"]} == plan_keys
    for row, s in zip(t, summaries):
        assert row["status"].decode() == "error_internal", (row, s)
        assert "refused its assignment" in s and "0123456789abcdef" in s, s
    assert "success" not in {row["status"].decode() for row in t}


def test_forged_key_in_result_is_refused_by_rank_0(tmp_path):
    r, t, summaries, plan_keys = forged(tmp_path, "result")
    assert len(t) > 0, r.stdout + r.stderr
    # never stored under the forged key: every row is under an assigned key
    assert b"fedcba9876543210" not in {bytes(k) for k in t["key"]}
    assert {bytes(k) for k in t["key"]} == plan_keys
    for row, s in zip(t, summaries):
        assert row["status"].decode() == "error_internal", (row, s)
        assert "refused the result" in s and "fedcba9876543210" in s, s
    assert "refused the result" in r.stderr


def set_models(cfg, models, trials=None):
    body = open(cfg).read()
    start = body.index("models: [")
    end = body.index("\n", start)
    body = body[:start] + "models: [" + ", ".join(models) + "]" + body[end:]
    if trials:
        start = body.index("trials: ")
        end = body.index("\n", start)
        body = body[:start] + "trials: %d" % trials + body[end:]
    with open(cfg, "w") as f:
        f.write(body)


def test_resume_extends_refuses_a_changed_prompt_and_accepts_it_on_request(tmp_path):
    cfg = make_campaign(tmp_path, ("scripted/good",), trials=1)
    root = os.path.dirname(cfg)
    h5 = output_of(cfg)
    r = run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(final_rows(h5)) == 2

    # an added model extends the plan: no flag needed, finished tasks kept
    set_models(cfg, ["scripted/good", "scripted/wrong"])
    r = run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "model scripted/wrong added" in r.stderr
    assert "2 done before" in r.stdout
    assert len(tasks(h5)) == 4 and len(final_rows(h5)) == 4

    # a changed prompt: refused, naming the file and the flag; nothing written
    prompt = os.path.join(root, "prompts", "double.txt")
    with open(prompt, "a") as f:
        f.write("Write only the number.\n")
    # (the reference is built per version of the suite: rebuild it, as a user would)
    rb = subprocess.run([BIN, "reference", os.path.join(root, "suite.yml")], capture_output=True,
                        text=True, timeout=120)
    assert rb.returncode == 0, rb.stdout + rb.stderr
    set_models(cfg, ["scripted/good", "scripted/wrong"], trials=2)
    r = run_sweep(cfg, 2)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "the prompt of step double (%s) changed" % prompt in r.stderr, r.stderr
    assert "--accept-changed-inputs" in r.stderr
    assert len(tasks(h5)) == 4
    with h5py.File(h5, "r") as f:
        assert len(f["runs"]) == 2

    # with the flag: runs, and the runs are told apart
    r = run_sweep(cfg, 2, "--accept-changed-inputs")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "going on with changed inputs" in r.stderr
    assert len(final_rows(h5)) == 8
    with h5py.File(h5, "r") as f:
        runs = f["runs"][:]
        assert list(runs["input_series"]) == [1, 1, 2]
        snap2, snap3 = inputs_of(h5, 2), inputs_of(h5, 3)
        assert snap2[prompt][0] != snap3[prompt][0]
    rep = subprocess.run([BIN, "report", h5], capture_output=True, text=True, timeout=120)
    assert rep.returncode == 0, rep.stdout + rep.stderr
    assert "input series" in rep.stdout, rep.stdout


def test_resume_with_changed_model_options_or_answers_is_refused(tmp_path):
    cfg = make_campaign(tmp_path, ("scripted/good",), trials=1)
    root = os.path.dirname(cfg)
    r = run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(cfg, "a") as f:
        f.write("models_config: {scripted/good: {temperature: 0.7}}\n")
    answer = os.path.join(root, "scripted", "answers", "double.py")
    with open(answer, "a") as f:
        f.write("# edited\n")
    r = run_sweep(cfg, 2)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "model scripted/good: temperature was absent, now 0.7" in r.stderr, r.stderr
    assert "a scripted answer file of endpoint demo (%s) changed" % answer in r.stderr, r.stderr
    assert len(tasks(output_of(cfg))) == 2


def test_binary_replaced_mid_run_changes_nothing(tmp_path):
    cfg = make_campaign(tmp_path, ("scripted/slow",), trials=4)
    root = os.path.dirname(cfg)
    bindir = os.path.join(root, "bin")
    os.makedirs(bindir)
    exe = os.path.join(bindir, "llm4hep")
    shutil.copy2(BIN, exe)
    marker = os.path.join(root, "impostor-ran")
    p = subprocess.Popen([MPIEXEC, "-n", "3", exe, "sweep", cfg], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, env=mpi_env(),
                         start_new_session=True)
    wait_first_result(cfg, p)
    # a rebuild: a new file renamed over the binary the campaign started from
    tmp = exe + ".new"
    with open(tmp, "w") as f:
        f.write("#!/bin/sh\necho impostor >> %s\nexit 3\n" % marker)
    os.chmod(tmp, 0o755)
    os.replace(tmp, exe)
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out
    assert not os.path.exists(marker), "a task child ran the replaced binary"
    rows = final_rows(output_of(cfg))
    assert len(rows) == 8 and all(r["status"].decode() == "success" for r in rows)
