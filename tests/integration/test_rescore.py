"""keep_outputs and `llm4hep rescore` through the real binary: a sweep keeps
what its checks judged (compressed, beside the results file), a tolerance
change in a copy of the suite is judged again without running any model or
code, the verdict flips and `report` lists it; the cap, hostile kept
outputs (planted links, decompression bombs, paths climbing out) and
missing ones are refused, named per task."""
import gzip
import json
import zlib
import os
import shutil
import subprocess
import textwrap

import h5py
import numpy as np

from campaign_util import BIN, final_rows, make_campaign, output_of, run_sweep

# A step with an array check (a tolerance to change) and a text check.
STEP = textwrap.dedent("""\
      - name: vector
        prompt: prompts/vector.txt
        checks:
          - {type: array, file: arrays/v.npy, sig_digits: SIG, zero_floor: 1.0e-9}
          - {type: text, file: note.txt, patterns: ['^done$']}
          - {type: command, run: [python, checks/vec.py, "{{workspace}}", "{{reference_dir}}"],
             expect: {ok: {min: 1}}}
    """)

# the command check: imports numpy, reads two outputs
CHECK_PROGRAM = textwrap.dedent("""\
    import json, os, sys
    import numpy as np
    ws = sys.argv[1]
    ok = open(os.path.join(ws, "note.txt")).read().strip() == "done"
    v = np.load(os.path.join(ws, "arrays", "v.npy"), allow_pickle=False)
    print(json.dumps({"ok": int(ok and v.size == 3)}))
    """)

SOLVE = textwrap.dedent("""\
    if a.step == "vector":
        import numpy as np
        os.makedirs(os.path.join(a.out, "arrays"), exist_ok=True)
        np.save(os.path.join(a.out, "arrays", "v.npy"), np.array([1.0, 2.0, 3.0]))
        open(os.path.join(a.out, "note.txt"), "w").write("done\\n")
    """)

# scripted coders: exact, off by 1e-4 relative in one value, a planted link
# to a file outside the workspace, and 2 MB of output
ANSWERS = {
    "exact": "v = np.array([1.0, 2.0, 3.0])",
    "close": "v = np.array([1.0001, 2.0, 3.0])",
    "big": "v = np.zeros(300000)",
}
ANSWER = textwrap.dedent("""\
    import os
    import numpy as np
    ws = os.environ.get("LLM4HEP_WORKSPACE", ".")
    os.makedirs(os.path.join(ws, "arrays"), exist_ok=True)
    {line}
    np.save(os.path.join(ws, "arrays", "v.npy"), v)
    open(os.path.join(ws, "note.txt"), "w").write("done\\n")
    """)
# correct outputs, and modules planted where a careless check would import them
PLANTED_ANSWER = ANSWER.format(line="v = np.array([1.0, 2.0, 3.0])") + textwrap.dedent("""\
    for d in (ws, os.path.join(ws, "arrays")):
        for m in ("numpy.py", "sitecustomize.py", "json.py"):
            open(os.path.join(d, m), "w").write("raise SystemExit(7)\\n")
    """)
LINK_ANSWER = textwrap.dedent("""\
    import os
    ws = os.environ.get("LLM4HEP_WORKSPACE", ".")
    os.makedirs(os.path.join(ws, "arrays"), exist_ok=True)
    os.symlink("/etc/passwd", os.path.join(ws, "arrays", "v.npy"))
    open(os.path.join(ws, "note.txt"), "w").write("done\\n")
    """)


def vector_campaign(models, extra="", trials=1):
    """The arith fixture with the `vector` step added, its reference built;
    returns (config path, campaign root)."""
    cfg = make_campaign(None, models, trials=trials, extra="steps: [vector]\n" + extra)
    root = os.path.dirname(cfg)
    with open(os.path.join(root, "suite.yml"), "a") as f:
        f.write(textwrap.indent(STEP.replace("SIG", "5"), "  "))
    with open(os.path.join(root, "solve.py"), "a") as f:
        f.write(SOLVE)
    with open(os.path.join(root, "prompts", "vector.txt"), "w") as f:
        f.write("Write arrays/v.npy and note.txt in {{workspace}}.\n")
    for name, line in ANSWERS.items():
        with open(os.path.join(root, "scripted", "answers", f"vector_{name}.py"), "w") as f:
            f.write(ANSWER.format(line=line))
    with open(os.path.join(root, "scripted", "answers", "vector_link.py"), "w") as f:
        f.write(LINK_ANSWER)
    with open(os.path.join(root, "scripted", "answers", "vector_planted.py"), "w") as f:
        f.write(PLANTED_ANSWER)
    os.makedirs(os.path.join(root, "checks"), exist_ok=True)
    with open(os.path.join(root, "checks", "vec.py"), "w") as f:
        f.write(CHECK_PROGRAM)
    for name in list(ANSWERS) + ["link", "planted"]:
        with open(os.path.join(root, "scripted", f"{name}.yml"), "w") as f:
            f.write(textwrap.dedent(f"""\
                usage: {{prompt_tokens: 100, completion_tokens: 20}}
                steps:
                  vector:
                    supervisor: ["Write the vector.\\nVERDICT: CONTINUE", "Done.\\nVERDICT: DONE"]
                    coder: [{{code_file: answers/vector_{name}.py}}]
                """))
    shutil.rmtree(os.path.join(root, "solution"))
    r = subprocess.run([BIN, "reference", os.path.join(root, "suite.yml")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return cfg, root


def suite_copy(root, sig):
    """A copy of the suite (same reference, data and programs) with another
    array tolerance."""
    text = open(os.path.join(root, "suite.yml")).read()
    assert "sig_digits: 5" in text
    path = os.path.join(root, f"suite-sig{sig}.yml")
    with open(path, "w") as f:
        f.write(text.replace("sig_digits: 5", f"sig_digits: {sig}"))
    return path


def rescore(out, suite):
    return subprocess.run([BIN, "rescore", out, "--suite", suite], capture_output=True,
                          text=True, timeout=300)


def same_rows(a, b):
    """Equal /checks rows (NaN max_rel_diff equal to NaN)."""
    cols = ["task_id", "check", "passed", "n_bad", "run", "report_off", "report_len"]
    return len(a) == len(b) and all((a[c] == b[c]).all() for c in cols) and np.array_equal(
        a["max_rel_diff"], b["max_rel_diff"], equal_nan=True)


def by_model(out):
    return {r["coder"].decode(): r for r in final_rows(out)}


def kept_dir(out, row):
    return os.path.join(out + ".outputs", f"{row['key'].decode()}-a{row['attempt']}")


def test_rescore_flips_a_verdict_after_a_tolerance_change():
    cfg, root = vector_campaign(("scripted/exact", "scripted/close"))
    r = run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    out = output_of(cfg)
    rows = by_model(out)
    assert rows["scripted/exact"]["status"] == b"success"
    assert rows["scripted/close"]["status"] == b"failed_validation"
    # what the checks judged is kept, compressed, with its manifest
    for row in rows.values():
        assert row["outputs"].decode().startswith("kept 2 files"), row["outputs"]  # the command check reads them too
        d = kept_dir(out, row)
        man = json.load(open(os.path.join(d, "MANIFEST.json")))
        assert sorted(f["path"] for f in man["files"]) == ["arrays/v.npy", "note.txt"]
        with gzip.open(os.path.join(d, "arrays", "v.npy.gz")) as g:
            raw = g.read()
        assert len(raw) == [f for f in man["files"] if f["path"] == "arrays/v.npy"][0]["size"]
    with h5py.File(out) as f:
        calls_before, execs_before = len(f["calls"]), len(f["execs"])
        checks_before = f["checks"][:]
    assert set(checks_before["run"]) == {1}

    # the same suite: the same verdicts, nothing changed
    r = rescore(out, os.path.join(root, "suite.yml"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 verdicts changed" in r.stdout
    # 3 significant digits: the close answer passes now
    r = rescore(out, suite_copy(root, 3))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "FAIL -> PASS" in r.stdout and "array:arrays/v.npy: FAIL -> pass" in r.stdout
    assert "rescore run 3" in r.stdout and "1 verdict changed" in r.stdout
    with h5py.File(out) as f:
        runs = f["runs"][:]
        assert [k.decode() for k in runs["kind"]] == ["sweep", "rescore", "rescore"]
        assert list(runs["exit_code"]) == [0, 0, 0]
        # no model or code ran again: no new calls or executions of code
        assert len(f["calls"]) == calls_before and len(f["execs"]) == execs_before
        checks = f["checks"][:]
        tasks = f["tasks"][:]
    # the sweep's rows stay; each rescore run added its own rows
    assert same_rows(checks[:len(checks_before)], checks_before)
    close_id = rows["scripted/close"]["task_id"]
    run3 = checks[(checks["run"] == 3) & (checks["task_id"] == close_id)]
    assert len(run3) == 3 and run3["passed"].all()
    # /tasks keep the sweep's verdicts (a rescore adds check rows only)
    assert tasks[tasks["task_id"] == close_id]["status"][0] == b"failed_validation"

    r = subprocess.run([BIN, "report", out], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    section = r.stdout.split("Verdicts changed by rescore runs")[1]
    line = [ln for ln in section.splitlines() if "scripted/close" in ln]
    assert len(line) == 1, section
    assert "vector" in line[0] and "FAIL -> PASS" in line[0] and "array:arrays/v.npy" in line[0]
    assert line[0].split()[0] == "3"  # the rescore run that changed it
    assert "scripted/exact" not in section
    r = subprocess.run([BIN, "report", out, "--format", "json"], capture_output=True, text=True,
                       timeout=120)
    resc = json.loads(r.stdout)["rescored"]
    assert resc["tasks_judged_again"] == 2
    assert [(c["run"], c["model"], c["step"], c["old"], c["new"]) for c in resc["changed"]] == [
        (3, "scripted/close", "vector", "FAIL", "PASS")]
    assert "array:arrays/v.npy FAIL->pass" in resc["changed"][0]["checks"]

    # a sweep resumed after rescore runs: nothing to redo, its run numbered after them
    r = run_sweep(cfg, 2)
    assert r.returncode == 0 and "0 to run" in r.stdout, r.stdout + r.stderr
    with h5py.File(out) as f:
        assert [k.decode() for k in f["runs"]["kind"]] == ["sweep", "rescore", "rescore", "sweep"]
    # the journal rebuilds the same rows (the rescore record is part of it)
    os.unlink(out)
    r = subprocess.run([BIN, "report", out], capture_output=True, text=True, timeout=120)
    r = rescore(out, os.path.join(root, "suite.yml"))
    assert r.returncode == 0, r.stdout + r.stderr
    with h5py.File(out) as f:
        again = f["checks"][:]
    assert same_rows(again[:len(checks)], checks)


def test_cap_exceeded_is_said_and_the_task_still_finishes():
    cfg, root = vector_campaign(("scripted/exact", "scripted/big"), extra="keep_outputs_mb: 1\n")
    r = run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    out = output_of(cfg)
    rows = by_model(out)
    big = rows["scripted/big"]
    assert big["status"] == b"failed_validation"  # judged as ever: the shape differs
    note = big["outputs"].decode()
    assert note.startswith("not kept:") and "keep_outputs_mb = 1" in note, note
    assert not os.path.exists(kept_dir(out, big))
    assert rows["scripted/exact"]["outputs"].decode().startswith("kept")
    # the sweep's end summary says the cap was reached and which key raises it
    assert "cap was reached" in r.stdout and "raise keep_outputs_mb" in r.stdout, r.stdout
    # rescore names the task it cannot judge, judges the other, exits 1
    r = rescore(out, os.path.join(root, "suite.yml"))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "scripted/big" in r.stdout and "its outputs were not kept" in r.stdout
    assert "1 of 2 tasks judged again" in r.stdout


def test_keep_outputs_off():
    cfg, root = vector_campaign(("scripted/exact",), extra="keep_outputs: false\n")
    r = run_sweep(cfg, 1)
    assert r.returncode == 0, r.stdout + r.stderr
    out = output_of(cfg)
    assert by_model(out)["scripted/exact"]["outputs"] == b""
    assert not os.path.exists(out + ".outputs")
    r = rescore(out, os.path.join(root, "suite.yml"))
    assert r.returncode == 1 and "written without keep_outputs" in r.stdout, r.stdout


def test_hostile_and_missing_kept_outputs_are_refused_per_task():
    models = ("scripted/exact", "scripted/close", "scripted/link")
    cfg, root = vector_campaign(models, trials=2)
    r = run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    out = output_of(cfg)
    rows = final_rows(out)
    # a link the code planted is never kept (nor followed): only note.txt
    for row in rows[rows["coder"] == b"scripted/link"]:
        assert row["status"] == b"failed_validation"
        d = kept_dir(out, row)
        man = json.load(open(os.path.join(d, "MANIFEST.json")))
        assert [f["path"] for f in man["files"]] == ["note.txt"]
        assert not os.path.lexists(os.path.join(d, "arrays"))
    for dirpath, dirs, files in os.walk(out + ".outputs"):
        for n in dirs + files:
            assert not os.path.islink(os.path.join(dirpath, n))

    def row(model, trial):
        return rows[(rows["coder"] == model.encode()) & (rows["trial"] == trial)][0]

    secret = os.path.join(root, "secret.txt")
    with open(secret, "w") as f:
        f.write("not for the checks\n")
    # exact trial 1: its kept array replaced by a link to a file outside
    d = kept_dir(out, row("scripted/exact", 1))
    os.unlink(os.path.join(d, "arrays", "v.npy.gz"))
    os.symlink(secret, os.path.join(d, "arrays", "v.npy.gz"))
    # exact trial 2: a decompression bomb in place of note.txt (far more
    # than the manifest records)
    d = kept_dir(out, row("scripted/exact", 2))
    with gzip.open(os.path.join(d, "note.txt.gz"), "wb") as g:
        g.write(b"\0" * (64 << 20))
    # close trial 1: a manifest whose path climbs out of the directory
    d = kept_dir(out, row("scripted/close", 1))
    man = json.load(open(os.path.join(d, "MANIFEST.json")))
    man["files"][0]["path"] = "../../../secret.txt"
    json.dump(man, open(os.path.join(d, "MANIFEST.json"), "w"))
    # close trial 2: its kept outputs are gone
    shutil.rmtree(kept_dir(out, row("scripted/close", 2)))

    r = rescore(out, os.path.join(root, "suite.yml"))
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stdout.splitlines()

    def said(model, trial):
        got = [ln for ln in lines if f"({model}, vector, trial {trial})" in ln]
        assert len(got) == 1, r.stdout
        return got[0]

    assert "not judged" in said("scripted/exact", 1) and "symbolic link (not followed)" in said(
        "scripted/exact", 1)
    assert "not judged" in said("scripted/exact", 2) and "more than" in said("scripted/exact", 2)
    assert "not judged" in said("scripted/close", 1) and "secret.txt" in said("scripted/close", 1)
    assert "not judged" in said("scripted/close", 2) and "missing" in said("scripted/close", 2)
    # the link model's tasks are judged (its array was not written) and fail again
    assert said("scripted/link", 1).endswith("FAIL") and said("scripted/link", 2).endswith("FAIL")
    assert "2 of 6 tasks judged again" in r.stdout
    assert "4 kept outputs missing or damaged" in r.stdout
    with h5py.File(out) as f:
        checks = f["checks"][:]
    judged = set(checks[checks["run"] == 2]["task_id"])
    assert judged == {row("scripted/link", 1)["task_id"], row("scripted/link", 2)["task_id"]}


def test_rescore_usage_errors():
    r = subprocess.run([BIN, "rescore", "x.h5"], capture_output=True, text=True)
    assert r.returncode == 2 and "--suite SUITE" in r.stderr
    r = subprocess.run([BIN, "rescore", "x.h5", "--suite", "a", "--suite", "b"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "twice" in r.stderr
    r = subprocess.run([BIN, "rescore", "/nonexistent/x.h5", "--suite", "a.yml"],
                       capture_output=True, text=True)
    assert r.returncode == 2, r.stderr


def journal_records(path):
    """(offset, type, payload) of each record of a journal (a task record
    stored deflated, header byte 5 = 1, is inflated)."""
    data, recs, at = open(path, "rb").read(), [], 0
    while at + 16 <= len(data):
        n = int.from_bytes(data[at + 8:at + 12], "little")
        payload = data[at + 16:at + 16 + n]
        if data[at + 5] == 1:
            payload = zlib.decompress(payload[4:])
        recs.append((at, chr(data[at + 4]), json.loads(payload)))
        at += 16 + n + 1
    return recs


def test_resume_after_a_kill_counts_nothing_twice():
    """A task whose outputs were kept but whose record never reached the
    journal (kill -9 between the two) is run again under the same attempt
    number: its kept directory is replaced whole, half-written ones are
    removed at start, and a rescore judges every task once."""
    cfg, root = vector_campaign(("scripted/exact", "scripted/close"))
    r = run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    out = output_of(cfg)
    journal = out + ".journal"
    recs = journal_records(journal)
    last_task = [x for x in recs if x[1] == "T"][-1]
    # the state a kill -9 leaves: the last task's record and the run's end
    # never written; its kept outputs there (here: damaged), a child's
    # half-written directory beside them
    with open(journal, "r+b") as f:
        f.truncate(last_task[0])
    os.unlink(out)
    lost = last_task[2]
    d = os.path.join(out + ".outputs", f"{lost['key']}-a1")
    man = json.load(open(os.path.join(d, "MANIFEST.json")))
    man["files"][0]["size"] += 1
    json.dump(man, open(os.path.join(d, "MANIFEST.json"), "w"))
    half = os.path.join(out + ".outputs", f".tmp-{lost['key']}-a1-4242")
    os.makedirs(os.path.join(half, "arrays"))
    open(os.path.join(half, "arrays", "v.npy.gz"), "wb").write(b"\x1f\x8b half")

    r = run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 to run" in r.stdout, r.stdout
    assert not os.path.exists(half)
    assert sorted(n for n in os.listdir(out + ".outputs") if n.startswith(".")) == []
    rows = final_rows(out)
    assert len(rows) == 2 and sorted(rows["attempt"]) == [1, 1]
    r = rescore(out, os.path.join(root, "suite.yml"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 of 2 tasks judged again" in r.stdout and "0 verdicts changed" in r.stdout
    with h5py.File(out) as f:
        checks = f["checks"][:]
        assert len(f["tasks"]) == 2
    # runs 1 and 2 are the sweep's (one task each), run 3 the rescore
    assert sorted(checks[checks["run"] == 3]["task_id"]) == [1, 1, 1, 2, 2, 2]
    assert len(checks) == 12


def test_fresh_moves_the_kept_outputs_aside():
    cfg, root = vector_campaign(("scripted/exact",))
    assert run_sweep(cfg, 1).returncode == 0
    out = output_of(cfg)
    r = run_sweep(cfg, 1, "--fresh")
    assert r.returncode == 0, r.stdout + r.stderr
    aside = [n for n in os.listdir(os.path.dirname(out)) if n.startswith(os.path.basename(out) + ".outputs.")]
    assert len(aside) == 1, os.listdir(os.path.dirname(out))
    assert len(os.listdir(out + ".outputs")) == 1


def test_command_checks_judged_again_without_running_what_the_model_wrote():
    """A command check's program may read any output, so every file the code
    left is kept — modules planted beside the outputs too; judged again, the
    check program runs as the suite's (python -I, cwd and HOME outside, the
    outputs read-only) and never imports them."""
    cfg, root = vector_campaign(("scripted/planted", "scripted/exact"))
    r = run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    out = output_of(cfg)
    rows = by_model(out)
    planted = rows["scripted/planted"]
    assert planted["status"] == b"success", planted
    man = json.load(open(os.path.join(kept_dir(out, planted), "MANIFEST.json")))
    kept = sorted(f["path"] for f in man["files"])
    assert "numpy.py" in kept and "arrays/sitecustomize.py" in kept and "note.txt" in kept
    assert not any(p.startswith("generated_code/") for p in kept), kept
    r = rescore(out, os.path.join(root, "suite.yml"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "(scripted/planted, vector, trial 1): PASS" in r.stdout, r.stdout
    # a stricter command check flips both verdicts; report lists them
    strict = os.path.join(root, "suite-strict.yml")
    text = open(os.path.join(root, "suite.yml")).read()
    with open(strict, "w") as f:
        f.write(text.replace("expect: {ok: {min: 1}}", "expect: {ok: {min: 2}}"))
    r = rescore(out, strict)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 verdicts changed" in r.stdout and r.stdout.count("PASS -> FAIL") == 2, r.stdout
    with h5py.File(out) as f:
        execs = f["execs"][:]
    assert set(execs["kind"]) <= {b"code", b"tool", b"check"}
    r = subprocess.run([BIN, "report", out, "--format", "markdown"], capture_output=True,
                       text=True, timeout=120)
    section = r.stdout.split("Verdicts changed by rescore runs")[1]
    # markdown escapes what a renderer would read as markup: `->` is `-\\>`
    assert section.count("PASS -\\> FAIL") == 2 and "command" in section, section


def test_a_check_that_cannot_judge_and_a_missing_step_are_said():
    cfg, root = vector_campaign(("scripted/exact",))
    assert run_sweep(cfg, 1).returncode == 0
    out = output_of(cfg)
    text = open(os.path.join(root, "suite.yml")).read()
    # a check program that cannot judge, not even the reference: infrastructure
    with open(os.path.join(root, "checks", "broken.py"), "w") as f:
        f.write("import sys\nprint('cannot read the reference')\nsys.exit(3)\n")
    broken = os.path.join(root, "suite-broken.yml")
    with open(broken, "w") as f:
        f.write(text.replace("checks/vec.py", "checks/broken.py"))
    r = rescore(out, broken)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "could not be judged" in r.stdout and "could not judge" in r.stderr
    # a suite without the task's step: named, not judged, exit 1
    renamed = os.path.join(root, "suite-renamed.yml")
    with open(renamed, "w") as f:
        f.write(text.replace("name: vector", "name: vector2"))
    r = rescore(out, renamed)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "step vector is not in" in r.stdout
    with h5py.File(out) as f:
        runs = f["runs"][:]
    assert [(k.decode(), e) for k, e in zip(runs["kind"], runs["exit_code"])] == [
        ("sweep", 0), ("rescore", 3), ("rescore", 1)]


def test_kill9_then_resume_then_rescore_agrees_with_the_sweep():
    """kill -9 of the whole job at random moments, resumed each time: every
    final task's kept outputs are whole (a rescore with the same suite judges
    each task once, exactly as the sweep did) and nothing half-written is
    left."""
    import random
    import time
    from campaign_util import kill_job, start_sweep
    # the slow model's code sleeps 1.5 s before writing: kills land in tasks
    cfg = make_campaign(None, ("scripted/good", "scripted/wrong", "scripted/slow"), trials=2)
    root = os.path.dirname(cfg)
    rng = random.Random(16)
    for k in range(3):
        job = start_sweep(cfg, 3)
        job.wait_for("campaign arith-test", 300)
        if k == 0:  # a rescore while the campaign holds the file is refused
            r = rescore(output_of(cfg), os.path.join(root, "suite.yml"))
            assert r.returncode == 2 and "held by a running campaign" in r.stderr, r.stderr
        time.sleep(rng.uniform(0.5, 2.5))
        kill_job(job)
        assert job.wait_empty(60) == []
    r = run_sweep(cfg, 3, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    out = output_of(cfg)
    rows = final_rows(out)
    assert len(rows) == 12
    assert not [n for n in os.listdir(out + ".outputs") if n.startswith(".")]
    judged = [row for row in rows if row["status"] != b"failed_no_code"]
    assert all(row["outputs"].startswith(b"kept") for row in judged)
    r = rescore(out, os.path.join(root, "suite.yml"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{len(judged)} of 12 tasks judged again" in r.stdout and "0 verdicts changed" in r.stdout
    with h5py.File(out) as f:
        checks = f["checks"][:]
        rescore_run = int(f["runs"]["run"][-1])
        assert f["runs"]["kind"][-1] == b"rescore"
    new = checks[checks["run"] == rescore_run]
    for row in judged:
        sweep = checks[(checks["task_id"] == row["task_id"]) & (checks["run"] == row["run"])]
        again = new[new["task_id"] == row["task_id"]]
        assert len(sweep) == len(again) == 1
        assert list(sweep["passed"]) == list(again["passed"]) and sweep["check"][0] == again["check"][0]
