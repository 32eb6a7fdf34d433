"""test_hostile_inputs.py — servers and files that lie (issue 13 items 8-14):
each test reproduces an attack against the real binary (real libcurl to the
loopback test server, real MPI ranks, real HDF5 written by h5py) and checks
that it now fails safely: a recorded error, a bounded wait, the usual exit 2
with file:line:col, never a crash, a hang or silent data loss."""
import json
import os
import signal
import subprocess
import time

import h5py
import numpy as np
import pytest

import campaign_util as cu
from conftest import TOOLS

SRC = cu.SRC
BIN = cu.BIN
from llm_testkit import LLMServer

ARITH_SCRIPTED = os.path.join(cu.FIXTURE, "scripted")


def run(args, timeout=120, env=None, **kw):
    e = dict(os.environ, NO_COLOR="1")
    e.update(env or {})
    return subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=timeout,
                          env=e, **kw)


@pytest.fixture
def srv():
    with LLMServer(scripted_dir=ARITH_SCRIPTED) as s:
        yield s


def http_campaign(srv, extra="", limits="{exec_timeout_s: 60, task_wall_s: 300}", name="hostile"):
    return cu.make_campaign(models=("scripted/good",), name=name, limits=limits,
                            endpoints="demo: {base_url: '%s'}" % srv.base_url,
                            extra="retry: {max_attempts: 3, base_s: 0.05, max_s: 0.2}\n" + extra)


def run_task(cfg, step="double", extra=(), timeout=120):
    out = os.path.join(os.path.dirname(cfg), "out-%s-%d" % (step, time.monotonic_ns()))
    r = run(["run", cfg, "--step", step, "--model", "scripted/good", "--out-dir", out] + list(extra),
            timeout=timeout)
    rec_path = os.path.join(out, "task.json")
    assert os.path.isfile(rec_path), r.stdout + r.stderr
    with open(rec_path) as f:
        return r, json.load(f)


# --------------------------------------------------------- 8. usage numbers

LIES = [
    ({"prompt_tokens": 9e18, "completion_tokens": 9e18}, "usage.prompt_tokens is 9e+18"),
    ({"prompt_tokens": -1e9, "completion_tokens": 5}, "usage.prompt_tokens is -1000000000"),
    ({"prompt_tokens": 1e300, "completion_tokens": 5}, "usage.prompt_tokens is 1e+300"),
    ({"prompt_tokens": 10, "completion_tokens": 2.5}, "usage.completion_tokens is 2.5"),
    ({"prompt_tokens": "12abc", "completion_tokens": 1}, "usage.prompt_tokens is \"12abc\""),
]


@pytest.mark.parametrize("usage,named", LIES)
def test_lying_usage_is_a_recorded_protocol_error(srv, usage, named):
    """A server's usage that would overflow, go negative or be undefined on
    conversion: the call fails as error_api naming the field, the record's
    numbers stay sane and the response is kept as received."""
    cfg = http_campaign(srv, limits="{exec_timeout_s: 60, task_wall_s: 300, task_tokens: 1000}")
    srv.faults([{"fault": "normal", "raw_usage": usage, "count": 5}])
    r, rec = run_task(cfg)
    assert rec["status"] == "error_api", rec
    assert "protocol error" in rec["error_summary"] and named in rec["error_summary"], rec["error_summary"]
    assert rec["prompt_tokens"] == 0 and rec["completion_tokens"] == 0
    assert rec["cost_usd"] in (0, "NaN")  # no price: unknown, never negative
    call = rec["calls"][0]
    assert call["prompt_tokens"] == 0 and call["completion_tokens"] == 0
    assert json.loads(call["response"])["usage"] == usage  # recorded exactly as received
    assert call["attempts"] == 1  # a lie is not retried
    assert "runtime error" not in r.stderr  # no UBSan report in sanitized builds


def test_token_limit_still_holds_after_honest_large_usage(srv):
    """The saturating totals keep task_tokens effective: a server reporting
    the largest honest count each call stops the task at the limit."""
    cfg = http_campaign(srv, limits="{exec_timeout_s: 60, task_wall_s: 300, task_tokens: 1500000000}")
    srv.faults([], default={"fault": "normal",
                            "raw_usage": {"prompt_tokens": 1000000000, "completion_tokens": 1000000000}})
    r, rec = run_task(cfg)
    assert "task token limit reached" in rec["error_summary"], rec
    assert rec["api_calls"] == 1
    assert rec["prompt_tokens"] == 1000000000 and rec["completion_tokens"] == 1000000000


# ------------------------------------------- 11. nesting and file sizes


def dry_run(cfg, timeout=60):
    """`sweep --dry-run` on one rank loads the config, the suite, its
    prompts and the model lists: every file a campaign reads first."""
    return run(["sweep", cfg, "--dry-run"], timeout=timeout, env=cu.mpi_env())


def test_deep_yaml_config_and_suite_are_exit_2_with_a_position():
    cfg = cu.make_campaign(name="deep")
    root = os.path.dirname(cfg)
    with open(cfg, "a") as f:
        f.write("prices: " + "[" * 200000 + "\n")
    r = dry_run(cfg)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "config.yml:" in r.stderr and "nested 129 deep: expected lists and mappings nested at most 128 deep" in r.stderr
    cfg2 = cu.make_campaign(name="deepsuite")
    with open(os.path.join(os.path.dirname(cfg2), "suite.yml"), "a") as f:
        f.write("requires_extra: " + "{a: " * 200000 + "\n")
    r = dry_run(cfg2)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "suite.yml:" in r.stderr and "nested 129 deep" in r.stderr
    assert root  # the fixture dir is removed at exit


@pytest.mark.parametrize("what", ["models_file", "prompt", "config", "suite", "code_file"])
@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "huge"])
def test_non_regular_and_huge_files_are_refused(what, kind):
    """Every file the user names is read through the one capped reader:
    /dev/zero, a FIFO nobody writes and a 65 MiB file are each a clear exit-2
    error naming the file — no hang, no exhausted memory."""
    cfg = cu.make_campaign(name="files")
    root = os.path.dirname(cfg)
    bad = os.path.join(root, "bad-input")
    if kind == "/dev/zero":
        bad = "/dev/zero"
    elif kind == "fifo":
        os.mkfifo(bad)
    else:
        with open(bad, "wb") as f:
            f.truncate((64 << 20) + 1)  # sparse: one byte over the cap
    want = {"/dev/zero": "is a character device, expected a regular file",
            "fifo": "is a FIFO (named pipe), expected a regular file",
            "huge": "67108865 bytes, expected at most 67108864 (64 MiB)"}[kind]
    target = cfg
    if what == "models_file":
        text = open(cfg).read().replace("models: [scripted/good]", "models_file: %s" % bad)
        open(cfg, "w").write(text)
    elif what == "prompt":
        suite = os.path.join(root, "suite.yml")
        text = open(suite).read().replace("prompt: prompts/double.txt", "prompt: %s" % bad)
        open(suite, "w").write(text)
    elif what == "config":
        target = bad
    elif what == "suite":
        text = open(cfg).read().replace("suite: suite.yml", "suite: %s" % bad)
        open(cfg, "w").write(text)
    if what == "code_file":
        script = os.path.join(root, "scripted", "good.yml")
        text = open(script).read().replace("answers/double.py", bad)
        open(script, "w").write(text)
        out = os.path.join(root, "out")
        r = run(["run", cfg, "--step", "double", "--model", "scripted/good", "--out-dir", out],
                timeout=60)
        rec = json.load(open(os.path.join(out, "task.json")))
        assert rec["status"] == "error_api" and want in rec["error_summary"], rec["error_summary"]
        return
    t0 = time.monotonic()
    r = dry_run(target)
    assert r.returncode == 2, r.stdout + r.stderr
    assert bad in r.stderr and want in r.stderr, r.stderr
    assert time.monotonic() - t0 < 30


# ------------------------------------------------ 10. damaged results file



def synth_file(tmp_path, tasks=8):
    out = str(tmp_path / "synth.h5")
    r = subprocess.run([os.path.join(TOOLS, "store_synth"), out, "--tasks", str(tasks)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    for suffix in (".journal", ".lock"):  # show reads the file alone
        if os.path.exists(out + suffix):
            os.unlink(out + suffix)
    return out


def damage(path, table, column, value):
    with h5py.File(path, "r+") as f:
        d = f[table]
        row = len(d) - 1 if table == "annotations" else 0
        rec = d[row]
        rec[column] = value
        d[row] = rec


INT64_MAX = 2**63 - 1


@pytest.mark.parametrize("table,column,value", [
    ("calls", "request_off", INT64_MAX - 10),     # off + len wraps past the bounds check
    ("calls", "response_off", -5),
    ("calls", "response_len", INT64_MAX),
    ("execs", "stdout_len", -1),
    ("execs", "code_off", 2**62),
    ("checks", "report_off", INT64_MAX),
    ("tasks", "n_calls", -1),                     # a negative count, cast to a huge size
    ("tasks", "n_calls", 2**31 - 1),
    ("tasks", "calls_row", INT64_MAX - 3),
    ("tasks", "execs_row", -7),
    ("tasks", "error_summary_off", INT64_MAX - 1),
    ("annotations", "text_off", INT64_MAX - 2),
])
def test_show_on_a_damaged_file_is_the_damaged_file_error(tmp_path, table, column, value):
    """A results file whose refs or row ranges a crafter chose: `show` (and
    `report`) end with exit 2 and "damaged file", never an out-of-bounds copy
    (ASan in sanitized builds), a crash or an exhausted memory."""
    path = synth_file(tmp_path)
    if table == "annotations":  # one annotation row, as `errors --llm` writes them
        with h5py.File(path, "r+") as f:
            a = f["annotations"]
            a.resize((len(a) + 1,))
            row = np.zeros((), dtype=a.dtype)
            row["task_id"] = f["tasks"][0]["task_id"]
            row["text_len"] = 4
            a[len(a) - 1] = row
    if table == "tasks" and column == "error_summary_off":
        # a summary longer than its inline copy: the full text is read from /text
        damage(path, "tasks", "error_summary_len", 10**6)
    damage(path, table, column, value)
    with h5py.File(path, "r") as f:
        t = f["tasks"][0]
        task_id = int(t["task_id"])
    r = run(["show", path, str(task_id)], timeout=60)
    assert r.returncode == 2, (r.returncode, r.stdout[-2000:], r.stderr)
    assert "damaged file" in r.stderr, r.stderr
    assert "AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr


def test_python_reader_refuses_damaged_refs(tmp_path):
    """scripts/llm4hep.py, the other reader of (off, len) refs: a damaged ref
    is a ValueError saying so, never a slice from the wrong place."""
    path = synth_file(tmp_path)
    import llm4hep as reader
    damage(path, "calls", "request_off", -5)
    r = reader.Results(path)
    task_id = int(r.tasks.task_id.iloc[0])
    with pytest.raises(ValueError, match="damaged file"):
        r.transcript(task_id)
    with pytest.raises(ValueError, match="damaged file"):
        r.text(INT64_MAX - 1, 10)
    damage(path, "calls", "request_off", 0)
    damage(path, "tasks", "n_calls", -3)
    r = reader.Results(path)
    with pytest.raises(ValueError, match="damaged file"):
        r.transcript(task_id)


# ------------------------------------------------- 9. every wait is capped

RETRY_HUGE = [{"fault": "status", "status": 429, "retry_after": 100000, "count": 50}]


def test_retry_after_100000_during_a_task_is_capped_by_retry_max_s(srv):
    cfg = cu.make_campaign(models=("scripted/good",), name="capped",
                           endpoints="demo: {base_url: '%s'}" % srv.base_url,
                           extra="retry: {max_attempts: 3, base_s: 0.05, max_s: 0.5}\n")
    srv.faults(RETRY_HUGE)
    t0 = time.monotonic()
    r, rec = run_task(cfg, timeout=60)
    took = time.monotonic() - t0
    assert rec["status"] == "error_api", rec
    log = rec["calls"][0]["attempt_log"]
    assert log.count("capped_by=retry.max_s") == 2 and "wait_s=0.500" in log, log
    assert 'retry_after="100000"' in log
    assert took < 30, took  # 2 waits of 0.5 s, not 28 hours


def wait_for(cond, seconds=60, what="the condition", job=None):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    pytest.fail("timed out waiting for " + what + (":\n" + job.output() if job else ""))


def test_sigterm_ends_a_retry_after_wait_in_run(srv):
    """retry.max_s of 200 s (within task_wall_s) caps the server's Retry-After
    at 200 s; SIGTERM still ends the wait at once and the task is interrupted."""
    cfg = cu.make_campaign(models=("scripted/good",), name="sigwait",
                           endpoints="demo: {base_url: '%s'}" % srv.base_url,
                           extra="retry: {max_attempts: 3, base_s: 1, max_s: 200}\n")
    srv.faults(RETRY_HUGE)
    out = os.path.join(os.path.dirname(cfg), "out-sig")
    p = subprocess.Popen([BIN, "run", cfg, "--step", "double", "--model", "scripted/good",
                          "--out-dir", out], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=dict(os.environ, NO_COLOR="1"))
    try:
        wait_for(lambda: len(srv.requests()) >= 1, what="the first (429) request")
        time.sleep(0.3)  # let the client parse the 429 and start waiting (no event to see)
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        out_, err_ = p.communicate(timeout=30)
        assert time.monotonic() - t0 < 10
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    rec = json.load(open(os.path.join(out, "task.json")))
    assert rec["status"] == "interrupted", rec
    assert "wait_s=200.000" in rec["calls"][0]["attempt_log"]
    assert len(srv.requests()) == 1  # no second attempt after the signal


def preflight_campaign(srv, max_s, name):
    return cu.make_campaign(models=("scripted/good",), name=name,
                            endpoints="demo: {base_url: '%s'}" % srv.base_url,
                            extra="retry: {max_attempts: 3, base_s: 0.05, max_s: %s}\n" % max_s)


PREFLIGHT_FAULTS = [{"fault": "status", "status": 404, "path": "models", "count": 10}] + RETRY_HUGE


def test_retry_after_100000_during_the_preflight_is_bounded(srv):
    """The pre-flight's one-token request meets Retry-After: 100000: with a
    small retry.max_s the waits are capped; with a retry.max_s past the
    pre-flight's deadline the check gives up at once, saying why."""
    cfg = preflight_campaign(srv, 0.3, "pf-capped")
    srv.faults(PREFLIGHT_FAULTS)
    t0 = time.monotonic()
    r = cu.run_sweep(cfg, 2, timeout=120)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "pre-flight" in r.stderr and "HTTP 429" in r.stderr
    assert time.monotonic() - t0 < 60
    srv.reset()
    cfg = preflight_campaign(srv, 100000, "pf-deadline")
    srv.faults(PREFLIGHT_FAULTS)
    t0 = time.monotonic()
    r = cu.run_sweep(cfg, 2, timeout=120)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "deadline leaves no time" in r.stderr, r.stderr
    assert time.monotonic() - t0 < 60


def test_sigterm_ends_a_preflight_wait(srv):
    """A rank asleep in the pre-flight (a 100 s Retry-After within the
    deadline) drains at SIGTERM: the sweep ends in seconds, saying so."""
    cfg = preflight_campaign(srv, 100, "pf-signal")
    srv.faults(PREFLIGHT_FAULTS)
    p = subprocess.Popen([BIN, "sweep", cfg], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=cu.mpi_env())
    try:
        wait_for(lambda: any(q["path"].endswith("/chat/completions") for q in srv.requests()),
                 what="the pre-flight's one-token request")
        time.sleep(0.3)
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        out_, err_ = p.communicate(timeout=60)
        assert time.monotonic() - t0 < 15
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode != 0
    assert "interrupted by a signal during a 100.0 s wait" in err_, err_


# ------------------------------------------- 12. --fresh keeps every copy


def test_fresh_twice_in_one_second_never_overwrites_a_kept_copy(tmp_path):
    """Three --fresh starts in a row (the same UTC second) and a kept name
    planted in advance: every earlier journal and results file survives
    under a name of its own, byte for byte."""
    import hashlib
    out = str(tmp_path / "camp.h5")
    synth = os.path.join(TOOLS, "store_synth")

    def start(seed, fresh=True):
        args = [synth, out, "--tasks", "3", "--seed", str(seed)] + (["--fresh"] if fresh else [])
        r = subprocess.run(args, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stderr

    def digest(p):
        return hashlib.sha256(open(p, "rb").read()).hexdigest()

    start(1, fresh=False)
    journals = [digest(out + ".journal")]
    results = [digest(out)]
    # a file the user keeps under the name the next second's copy would take
    stamp_next = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() + 1))
    planted = out + ".journal." + stamp_next
    open(planted, "w").write("mine\n")
    for seed in (2, 3):
        start(seed)
        journals.append(digest(out + ".journal"))
        results.append(digest(out))
    assert open(planted).read() == "mine\n"  # never overwritten
    kept_j = sorted(p for p in os.listdir(tmp_path) if p.startswith("camp.h5.journal.") and
                    not p.endswith(stamp_next))
    kept_r = sorted(p for p in os.listdir(tmp_path) if p.startswith("camp.h5.2"))
    assert len(kept_j) == 2 and len(kept_r) == 2, os.listdir(tmp_path)
    assert sorted(digest(str(tmp_path / p)) for p in kept_j) == sorted(journals[:2])
    assert sorted(digest(str(tmp_path / p)) for p in kept_r) == sorted(results[:2])


# ------------------------------------------- 13. progress counts task keys


def test_progress_counts_task_keys_not_attempts(srv):
    """Every task's first attempt fails as error_api (a 400) and is redone
    (infra_retries: 2): the lines and the summary count keys — never [3/2]
    or 150% — and the retried attempts are said apart."""
    cfg = cu.make_campaign(models=("scripted/good",), name="progress",
                           endpoints="demo: {base_url: '%s'}" % srv.base_url,
                           extra="infra_retries: 2\nretry: {max_attempts: 1, base_s: 0.05, max_s: 0.1}\n")
    # the first chat request of each of the two tasks fails (the pre-flight
    # uses GET /models); the same fault once more for a second retry
    srv.faults([{"fault": "error_body", "status": 400, "message": "injected", "count": 3}])
    r = cu.run_sweep(cfg, 2, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    import re
    counts = [(int(a), int(b)) for a, b in re.findall(r"^\[\s*(\d+)/(\d+)\]", r.stdout, re.M)]
    assert len(counts) == 5, r.stdout  # 2 keys: 3 failed attempts + 2 successes
    assert all(k <= n == 2 for k, n in counts), counts
    assert counts[-1] == (2, 2)
    assert r.stdout.count("(not done: retried)") == 3, r.stdout
    summary = [l for l in r.stdout.splitlines() if l.startswith("-- ") and " done (" in l][-1]
    assert summary.startswith("-- 2/2 done (100%) (+3 attempts retried or interrupted)"), summary
    rows = cu.tasks(cu.output_of(cfg))
    assert len(rows) == 5 and int(sum(rows["final"])) == 2


# ---------------------------- 14. the terminal shows escapes, never obeys them

ESC_PLAN = "Plan \x1b]0;pwned\x07\x1b[2J\x1b[1A\rnothing to see\u202e.\nVERDICT: CONTINUE"
ESC_CODE = ("```python\nimport sys\nsys.stdout.write('out \\x1b[31mred\\x1b[0m\\r\\n')\n"
            "sys.stderr.write('err \\x1b]52;c;cHduZWQ=\\x07\\n')\nopen('answer.txt', 'w').write('42\\n')\n```")


def test_run_shows_control_characters_and_records_them_exactly(srv):
    """The model's text and its code's output reach the terminal with every
    escape made visible; task.json keeps the model's text and the output
    byte for byte, and the code ran exactly as the model wrote it."""
    cfg = http_campaign(srv, name="escapes")
    srv.faults([{"fault": "normal", "content": ESC_PLAN}, {"fault": "normal", "content": ESC_CODE}])
    out = os.path.join(os.path.dirname(cfg), "out-esc")
    p = subprocess.run([BIN, "run", cfg, "--step", "double", "--model", "scripted/good",
                        "--out-dir", out], capture_output=True, timeout=120,
                       env=dict(os.environ, NO_COLOR="1"))
    shown = p.stdout + p.stderr
    assert b"\x1b" not in shown and b"\x07" not in shown and b"\r" not in shown
    assert "\u202e".encode() not in shown
    text = shown.decode()
    assert "Plan ^[]0;pwned^G^[[2J^[[1A^Mnothing to see<U+202E>." in text
    assert "out ^[[31mred^[[0m^M" in text and "err ^[]52;c;cHduZWQ=^G" in text
    rec = json.load(open(os.path.join(out, "task.json")))
    assert json.loads(rec["calls"][0]["response"])["choices"][0]["message"]["content"] == ESC_PLAN
    code_run = [e for e in rec["execs"] if e["kind"] == "code"][0]
    assert code_run["stdout_text"] == "out \x1b[31mred\x1b[0m\r\n"
    assert "\\x1b[31m" in open(os.path.join(out, "generated_code", "iter_1.py")).read()


def test_show_shows_control_characters(tmp_path):
    """`show` prints a results file's texts with escapes visible."""
    path = synth_file(tmp_path)
    with h5py.File(path, "r+") as f:
        heap = f["text"]
        c = f["calls"][0]
        off, n = int(c["response_off"]), int(c["response_len"])
        evil = b"\x1b[2J\x1b]0;x\x07"
        assert n >= len(evil)
        heap[off:off + len(evil)] = np.frombuffer(evil, dtype=heap.dtype)
        task_id = int(f["tasks"][0]["task_id"])
    r = subprocess.run([BIN, "show", path, str(task_id)], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert b"\x1b" not in r.stdout and b"\x07" not in r.stdout


def rc_known(job):
    """The job's launcher has exited (its init may still wait for us)."""
    return "job: launcher exited with" in job.output()


def test_sigusr1_ends_every_ranks_preflight_wait(srv):
    """Under mpirun, two ranks each asleep in a 100 s Retry-After of their own
    model's pre-flight check: SIGUSR1 (Slurm's warning, forwarded to every
    rank) ends both waits; the sweep ends in seconds, saying why."""
    cfg = cu.make_campaign(models=("scripted/good", "scripted/wrong"), name="pf-usr1",
                           endpoints="demo: {base_url: '%s'}" % srv.base_url,
                           extra="retry: {max_attempts: 3, base_s: 0.05, max_s: 100}\n")
    srv.faults(PREFLIGHT_FAULTS)
    p = cu.start_sweep(cfg, 2)  # a job, as Slurm runs it (campaign_util.Job)
    try:
        wait_for(lambda: sum(q["path"].endswith("/chat/completions") for q in srv.requests()) >= 2,
                 what="both ranks' one-token requests", job=p)
        time.sleep(0.5)
        t0 = time.monotonic()
        p.signal_launcher(signal.SIGUSR1)  # mpirun passes it on to every rank
        rc = p.wait_launcher(90)
        took = time.monotonic() - t0
        out_ = p.output()
    finally:
        p.end() if rc_known(p) else cu.kill_job(p)
    assert rc == 3, out_
    assert took < 20, took
    stopped = [l for l in out_.splitlines() if "interrupted by a signal during a 100.0 s wait" in l]
    assert any("scripted/good" in l for l in stopped) and any("scripted/wrong" in l for l in stopped), out_
    assert len([q for q in srv.requests() if q["path"].endswith("/chat/completions")]) == 2
