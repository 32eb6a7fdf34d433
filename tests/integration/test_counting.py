"""test_counting.py — nothing the model's code does may turn its failure into an
infrastructure outcome (error_sandbox / error_api / error_internal, left out
of the rates) or show it the reference (issues 19, 12, 13 items 5).

Each test plays one route from inside the generated code, through real
`llm4hep run` tasks (scripted models, real sandbox, real checks), and sees it
end as the model's own failure:
- stderr shaped like bubblewrap's own error message (the launcher's status
  pipe decides, never stderr);
- a workspace left so that the sandbox cannot start the next program in it
  (root chmod 000), or the next iteration's code cannot be written;
- a check program's "cannot judge" (exit 3) that the reference does not
  reproduce; and the converse, a check that cannot judge the reference
  either, which stays error_sandbox;
- usercustomize/sitecustomize/.pth planted in HOME or the workspace must not
  run inside a check program or a tool (the scores step must not pass with no
  work done; the tool must not print its own source);
- outputs that are links (to the reference) or FIFOs are refused before a
  check program opens them; a check program that blocks is stopped at the
  task's wall limit;
- a run stopped by a limit names it in the record (time, memory).
"""
import json
import os
import pathlib
import shutil
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, HGG_SUITE as SUITE
INFRA = {"error_api", "error_sandbox", "error_internal"}


def code_answer(code):
    return {"text": "```python\n%s\n```" % code}


def model(step, codes, tool_calls=None):
    """A scripted model: one code answer per iteration (tool_calls: a list of
    coder answers inserted before the second code answer)."""
    coder = [code_answer(codes[0])] + (tool_calls or []) + [code_answer(c) for c in codes[1:]]
    n = len(codes)
    sup = ["Plan.\nVERDICT: CONTINUE"] * n + ["Done.\nVERDICT: DONE"]
    return {"steps": {step: {"supervisor": sup, "coder": coder}}}


# --- the routes, as a model would write them --------------------------------

FAKE_BWRAP = r'''
import sys
sys.stderr.write("bwrap: Can't find source path /workspace/arrays/data_raw.npy: No such file or directory\n")
sys.exit(1)
'''

CHMOD_ROOT = r'''
import os
try:
    os.chmod(os.environ["LLM4HEP_WORKSPACE"], 0)
    print("chmodded")
except OSError as e:
    print("chmod refused:", e)
'''

REPLACE_GENERATED = r'''
import os, shutil
ws = os.environ["LLM4HEP_WORKSPACE"]
try:
    shutil.rmtree(os.path.join(ws, "generated_code"))
    open(os.path.join(ws, "generated_code"), "w").write("not a directory")
    print("replaced")
except OSError as e:
    print("refused:", e)
'''

# plants code that, inside a check program or a tool, copies the reference
# scores into the workspace, says so on stdout, and prints the tool's source
PLANT = r'''
import os, site, sys
ws = os.environ["LLM4HEP_WORKSPACE"]
payload = """
import os, shutil, sys
print("PLANTED-RAN", file=sys.stdout)
ref = os.environ.get("LLM4HEP_REFERENCE")
ws = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
try:
    for n in ("scores_signal.npy", "scores_bkgd.npy"):
        shutil.copy(os.path.join(ref, "arrays", n), os.path.join(ws, "arrays", n))
except Exception:
    pass
for a in sys.argv:
    if a.endswith(".py") and os.path.exists(a):
        print("SOURCE-OF", a, open(a).read())
"""
home = os.environ["HOME"]
user_site = os.path.join(home, ".local", "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
for d in (user_site, ws, os.path.join(ws, "generated_code"), os.path.join(ws, "arrays")):
    os.makedirs(d, exist_ok=True)
    for name in ("usercustomize.py", "sitecustomize.py"):
        open(os.path.join(d, name), "w").write(payload)
    open(os.path.join(d, "zz_planted.pth"), "w").write("import usercustomize\n")
print("planted in", user_site, ws)
'''

EXIT3_PLANT = r'''
import os, sys
home = os.environ["HOME"]
user_site = os.path.join(home, ".local", "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
os.makedirs(user_site, exist_ok=True)
for d in (user_site, os.environ["LLM4HEP_WORKSPACE"]):
    for name in ("usercustomize.py", "sitecustomize.py"):
        open(os.path.join(d, name), "w").write("import os\nos._exit(3)\n")
print("planted exit 3")
'''

LINK_TO_REFERENCE = r'''
import os
ws = os.environ["LLM4HEP_WORKSPACE"]
os.makedirs(os.path.join(ws, "arrays"), exist_ok=True)
for n in ("scores_signal.npy", "scores_bkgd.npy"):
    os.symlink("/reference/arrays/" + n, os.path.join(ws, "arrays", n))
print("linked")
'''

FIFO = r'''
import os
ws = os.environ["LLM4HEP_WORKSPACE"]
os.makedirs(os.path.join(ws, "arrays"), exist_ok=True)
os.mkfifo(os.path.join(ws, "arrays", "scores_signal.npy"))
os.mkfifo(os.path.join(ws, "arrays", "scores_bkgd.npy"))
print("fifos")
'''

MODELS = {
    "fakebwrap": model("create_numpy", [FAKE_BWRAP]),
    "chmodroot": model("create_numpy", [CHMOD_ROOT, "print('second')"]),
    "nogencode": model("create_numpy", [REPLACE_GENERATED, "print('second')"]),
    "planter": model("scores", [PLANT]),
    "exit3": model("scores", [EXIT3_PLANT]),
    "linker": model("scores", [LINK_TO_REFERENCE]),
    "fifo": model("scores", [FIFO]),
    "tooluser": model("categorization", [PLANT, "print('after the tool')"],
                      tool_calls=[{"tool_calls": [{"name": "evaluate_boundaries",
                                                   "arguments": '{"boundaries": [0.5]}'}]}]),
}

# --- a minimal suite of our own, for check programs that misbehave ---------

JUDGE = r'''
import json, os, sys
ws, ref, need = sys.argv[1], sys.argv[2], sys.argv[3]
if not os.path.exists(os.path.join(ref, need)):
    print(json.dumps({"error": "reference unreadable: no " + need}))
    sys.exit(3)
if os.path.exists(os.path.join(ws, "giveup")):
    print(json.dumps({"error": "cannot judge this"}))
    sys.exit(3)
print(json.dumps({"ok": 1 if os.path.exists(os.path.join(ws, "out.txt")) else 0}))
'''

SLEEPY = r'''
import time
time.sleep(100000)
'''

MINI_SUITE = """
name: mini
data_dir: data
reference_dir: ref
solution: [python, soln.py, "{{workspace}}"]
prompts: {supervisor_first: prompt.txt, supervisor: prompt.txt, coder: prompt.txt}
steps:
  - name: judge
    prompt: prompt.txt
    checks:
      - {type: command, run: [python, judge.py, "{{workspace}}", "{{reference_dir}}", present.txt],
         expect: {ok: {min: 1}}}
  - name: judge_broken
    prompt: prompt.txt
    checks:
      - {type: command, run: [python, judge.py, "{{workspace}}", "{{reference_dir}}", missing.txt],
         expect: {ok: {min: 1}}}
  - name: sleepy
    prompt: prompt.txt
    checks:
      - {type: command, run: [python, sleepy.py], expect: {ok: {min: 1}}}
"""

MINI_MODELS = {
    "giveup": model("judge", ["open('giveup', 'w').write('x')"]),
    "honest": model("judge_broken", ["open('out.txt', 'w').write('x')"]),
    "quick": model("sleepy", ["print('done')"]),
    "spinner": model("judge", ["while True: pass"]),
    "glutton": model("judge", ["x = bytearray(64 * 2**30)"]),
}


def run(args, env, timeout=900):
    return subprocess.run([BIN] + args, env=env, capture_output=True, text=True, timeout=timeout)


def write_models(d, models):
    d.mkdir()
    for name, m in models.items():
        (d / (name + ".yml")).write_text(json.dumps(m))


@pytest.fixture(scope="module")
def world():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="llm4hep-count-"))
    tmp.chmod(0o755)  # the code runs as uid 65534 when we are root
    try:
        (tmp / "scratch").mkdir()
        write_models(tmp / "models", MODELS)
        env = dict(os.environ)
        env.update(LLM4HEP_HGG_DATA=str(tmp / "data"), LLM4HEP_HGG_REF=str(tmp / "ref"),
                   LLM4HEP_HGG_SIZE="tiny", NO_COLOR="1")
        r = run(["reference", SUITE], env)
        assert r.returncode == 0, r.stdout + r.stderr
        cfg = tmp / "count.yml"
        cfg.write_text(
            "name: counting\nsuite: %s\noutput: %s\nscratch: %s\nmax_iterations: 3\n"
            "models: [t/fakebwrap]\nendpoints: {mine: {provider: scripted, dir: %s}}\n"
            "model_defaults: {endpoint: mine}\n"
            % (SUITE, tmp / "count.h5", tmp / "scratch", tmp / "models"))
        mini = tmp / "mini"
        mini.mkdir()
        (mini / "data").mkdir()
        (mini / "soln.py").write_text(
            "import os, sys\nopen(os.path.join(sys.argv[1], 'present.txt'), 'w').write('x')\n")
        (mini / "prompt.txt").write_text("Do {{step}}.\n")
        (mini / "judge.py").write_text(JUDGE)
        (mini / "sleepy.py").write_text(SLEEPY)
        (mini / "suite.yml").write_text(MINI_SUITE)
        r = run(["reference", str(mini / "suite.yml")], env)
        assert r.returncode == 0, r.stdout + r.stderr
        write_models(tmp / "minimodels", MINI_MODELS)
        mcfg = tmp / "mini.yml"
        mcfg.write_text(
            "name: mini\nsuite: %s\noutput: %s\nscratch: %s\nmax_iterations: 2\n"
            "models: [t/giveup]\nendpoints: {mine: {provider: scripted, dir: %s}}\n"
            "model_defaults: {endpoint: mine}\n"
            "limits: {exec_timeout_s: 300, task_wall_s: 40, exec_memory_mb: 2048}\n"
            % (mini / "suite.yml", tmp / "mini.h5", tmp / "scratch", tmp / "minimodels"))
        yield {"tmp": tmp, "env": env, "cfg": str(cfg), "mini": str(mcfg)}
    finally:
        subprocess.run(["chmod", "-R", "u+rwx", str(tmp)], capture_output=True)
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)


def task(world, step, name, cfg="cfg", *extra):
    out = world["tmp"] / ("out-%s-%s" % (step, name))
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.monotonic()
    r = run(["run", world[cfg], "--step", step, "--model", "t/" + name, "--validate",
             "--out-dir", str(out)]
            + list(extra), world["env"])
    took = time.monotonic() - t0
    assert (out / "task.json").is_file(), r.stdout + r.stderr
    rec = json.loads((out / "task.json").read_text())
    return r, rec, took


def execs(rec, kind):
    return [e for e in rec["execs"] if e["kind"] == kind]


def assert_models_failure(r, rec):
    assert rec["status"] not in INFRA, (rec["status"], rec.get("error_summary"), r.stderr)
    assert rec["status"].startswith("failed_"), rec["status"]
    assert r.returncode == 1, r.stdout + r.stderr


def test_stderr_shaped_like_bubblewrap_is_the_codes_failure(world):
    r, rec, _ = task(world, "create_numpy", "fakebwrap")
    assert_models_failure(r, rec)
    assert rec["status"] == "failed_execution"
    code = execs(rec, "code")
    assert code and code[0]["exit_code"] == 1 and code[0]["stderr_text"].startswith("bwrap: ")
    # the start line says which backend runs and what it does not protect
    assert "llm4hep run: sandbox bwrap: own namespaces, no network" in r.stdout, r.stdout


def test_a_workspace_the_sandbox_cannot_enter_is_the_codes_failure(world):
    r, rec, _ = task(world, "create_numpy", "chmodroot")
    assert_models_failure(r, rec)
    code = execs(rec, "code")
    assert len(code) == 2, rec["execs"]
    if "chmodded" in code[0]["stdout_text"]:
        # Either the harness gave the root its mode back before the next run
        # (the workspace restore: the next code runs and fails on its own),
        # or the sandbox could not start it there while it works without that
        # workspace, so the workspace is the cause. Never infrastructure.
        if code[1]["exit_code"] == 126:
            assert "workspace is the cause" in code[1]["stderr_text"]
        else:
            assert code[1]["exit_code"] != 0 or rec["status"] == "failed_validation"


def test_a_generated_code_dir_replaced_by_a_file_is_the_codes_failure(world):
    r, rec, _ = task(world, "create_numpy", "nogencode")
    assert_models_failure(r, rec)
    code = execs(rec, "code")
    assert len(code) == 2, rec["execs"]
    if "replaced" in code[0]["stdout_text"]:
        # the harness put its directory back (the workspace restore) and the
        # next code ran, or it could not place the code there: the code's
        if code[1]["exit_code"] == 126:
            assert "cannot write generated_code/iter_2.py" in code[1]["stderr_text"]


def test_planted_customize_files_do_not_run_in_the_check(world):
    r, rec, _ = task(world, "scores", "planter")
    assert "planted in" in execs(rec, "code")[0]["stdout_text"]
    assert rec["status"] == "failed_validation", (rec["status"], rec.get("error_summary"))
    for e in execs(rec, "check"):
        assert "PLANTED-RAN" not in e["stdout_text"] + e["stderr_text"]
    scores = [c for c in rec["checks"] if "scores" in c["check"]]
    assert scores and not scores[0]["passed"]


def test_planted_exit_3_in_a_check_is_not_infrastructure(world):
    r, rec, _ = task(world, "scores", "exit3")
    assert_models_failure(r, rec)
    assert rec["status"] == "failed_validation"


def test_planted_customize_files_do_not_run_in_the_tool(world):
    r, rec, _ = task(world, "categorization", "tooluser")
    tools = execs(rec, "tool")
    assert tools, rec["execs"]
    for t in tools:
        out = t["stdout_text"] + t["stderr_text"]
        assert "PLANTED-RAN" not in out and "SOURCE-OF" not in out and "def optimize" not in out
    assert rec["status"] not in INFRA


@pytest.mark.parametrize("name, what", [("linker", "symbolic link"), ("fifo", "FIFO")])
def test_links_and_fifos_are_refused_before_a_check_program_opens_them(world, name, what):
    r, rec, took = task(world, "scores", name)
    assert_models_failure(r, rec)
    assert rec["status"] == "failed_validation"
    scores = [c for c in rec["checks"] if "scores" in c["check"]]
    assert scores and not scores[0]["passed"]
    assert "not run" in scores[0]["report"] and what in scores[0]["report"], scores[0]["report"]
    assert not execs(rec, "check"), "no check program may run on such a workspace"


def test_check_exit_3_the_reference_does_not_reproduce_is_the_models(world):
    r, rec, _ = task(world, "judge", "giveup", "mini")
    assert_models_failure(r, rec)
    assert rec["status"] == "failed_validation"


def test_check_exit_3_on_the_reference_too_stays_infrastructure(world):
    r, rec, _ = task(world, "judge_broken", "honest", "mini")
    assert rec["status"] == "error_sandbox", rec["status"]
    assert "could not judge" in rec["error_summary"] and "reference" in rec["error_summary"]
    assert r.returncode == 3


def test_a_blocking_check_program_obeys_the_task_wall_limit(world):
    # task_wall_s 40: the check program sleeps forever but exec_timeout_s is 300
    r, rec, took = task(world, "sleepy", "quick", "mini")
    assert took < 40 + 30, took
    chk = execs(rec, "check")
    assert chk and chk[0]["timed_out"] and chk[0]["limit"] == "time"
    assert rec["status"] not in INFRA and not rec["checks"][0]["passed"]


def test_the_record_names_the_limit_that_stopped_the_code(world):
    world_cfg = pathlib.Path(world["mini"])
    fast = world["tmp"] / "mini-fast.yml"
    fast.write_text(world_cfg.read_text().replace("exec_timeout_s: 300", "exec_timeout_s: 3")
                    .replace("max_iterations: 2", "max_iterations: 1"))
    world = dict(world, fast=str(fast))
    r, rec, _ = task(world, "judge", "spinner", "fast")
    code = execs(rec, "code")
    assert code[0]["timed_out"] and code[0]["limit"] == "time"
    assert "time limit" in rec["error_summary"] or "timed out" in rec["error_summary"]
    r, rec, _ = task(world, "judge", "glutton", "fast")
    code = execs(rec, "code")
    assert code[0]["limit"] == "memory", code[0]
    assert rec["status"] == "failed_execution"
