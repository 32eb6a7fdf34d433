"""The host side against what generated code leaves in its workspace (issue 13
items 1-4 and 7, issue 12's reused out-dir, issue 19's workspace root, staged
inputs and disk limits).

Real payloads run through tests/tools/exec_run under both backends, as root
(the code then runs as uid 65534) and as an ordinary uid (4242), then through
`llm4hep run` with scripted models that plant links, vandalise their
workspace and build directory chains thousands of levels deep. Each attack
must fail safely: nothing written outside the workspace, nothing crashes, no
infrastructure status, every workspace removed from scratch.
"""
import fcntl
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from test_exec_sandbox import SMALL, Box

from conftest import BIN, HGG_SUITE as SUITE
ROOT = os.geteuid() == 0
TIGHT = ["--timeout", "20", "--memory-mb", "1024", "--workspace-mb", "20", "--output-bytes", "4096"]


@pytest.fixture(scope="module", params=["bwrap", "rlimit"] + (
    ["bwrap-user"] if ROOT else []))  # rlimit as an ordinary user is refused (test_exec_launch)
def box(request):
    iso, _, user = request.param.partition("-")
    b = Box(iso, user=4242 if user else None)
    yield b
    b.close()


def workspaces(box):
    return [n for n in os.listdir(box.scratch) if n.startswith("llm4hep-") and "slots" not in n]


DEEP = r'''
import os, sys
n = int(sys.argv[1])
os.chdir("arrays")
depth = 0
try:
    for depth in range(n):
        os.mkdir("d")
        os.chdir("d")
    print("built", n)
except OSError as e:
    print("stopped at", depth, e)
'''


@pytest.mark.parametrize("n", [2000, 100000])
def test_a_deep_directory_chain_is_stopped_and_removed(box, n):
    """~2000 levels crashed copy_tree (stack) and 100 000 made removal fail
    silently; now the depth is the workspace limit, the run ends normally and
    nothing is left in scratch."""
    out = box.run(DEEP, *TIGHT, args=[str(n)], timeout=300)
    res = out["result"]
    assert res["limit"] == "workspace", res
    assert not any(f["path"].count("/") > 128 for f in res["files"])
    assert workspaces(box) == []
    nxt = box.run("print('next run ok')", *SMALL)["result"]
    assert nxt["exit_code"] == 0 and nxt["stdout"] == "next run ok\n"


DEEP_BYTES = r'''
import os, time
os.chdir("arrays")
for i in range(70):
    os.mkdir("d%d" % i)
    os.chdir("d%d" % i)
chunk = b"x" * (1 << 20)
for k in range(30):          # 300 MB in 10 MB files (each below RLIMIT_FSIZE)
    with open("f%d.bin" % k, "wb") as f:
        for _ in range(10):
            f.write(chunk)
print("wrote 300 MB 70 levels down")
time.sleep(60)
'''


def test_300_mb_written_70_levels_down_is_stopped(box):
    res = box.run(DEEP_BYTES, *TIGHT)["result"]
    assert res["limit"] == "workspace", res
    assert res["wall_s"] < 20


SPARSE = r'''
import time
for k in range(5):           # 5 x 15 MB apparent, ~0 allocated
    with open("arrays/sparse%d.bin" % k, "wb") as f:
        f.truncate(15 << 20)
print("sparse files made")
time.sleep(60)
'''


def test_sparse_files_count_at_their_apparent_size(box):
    res = box.run(SPARSE, *TIGHT)["result"]
    assert res["limit"] == "workspace", res
    assert res["wall_s"] < 20


TMP_AND_SHM = r'''
import os, time
for d in ("/tmp", "/dev/shm"):
    with open(os.path.join(d, "fill.bin"), "wb") as f:
        f.write(b"x" * (15 << 20))
print("30 MB in /tmp and /dev/shm")
time.sleep(60)
'''


@pytest.fixture(scope="module", params=["bwrap"] + (["bwrap-user"] if ROOT else []))
def bwrap_box(request):
    b = Box("bwrap", user=4242 if request.param == "bwrap-user" else None)
    yield b
    b.close()


def test_tmp_and_shm_share_the_one_workspace_budget(bwrap_box):
    """Each was a tmpfs of workspace_mb of memory outside exec_memory_mb; now
    both are directories counted in the one workspace budget (bubblewrap
    only: the rlimit backend mounts nothing)."""
    res = bwrap_box.run(TMP_AND_SHM, *TIGHT)["result"]
    assert res["limit"] == "workspace", res
    assert res["wall_s"] < 20


VANDAL = r'''
import os, shutil, sys
if not os.path.exists(".home/first-run-done"):
    open(".home/first-run-done", "w").close()
    log = []
    for what, fn in [
            ("rename arrays", lambda: os.rename("arrays", "arrays-moved")),
            ("plant arrays", lambda: os.symlink("/etc", "arrays")),
            ("remove generated_code", lambda: shutil.rmtree("generated_code")),
            ("plant generated_code", lambda: os.symlink(sys.argv[1], "generated_code")),
            ("replace HOME tmp", lambda: (shutil.rmtree(".home/.tmp"), os.symlink(sys.argv[1], ".home/.tmp"))),
            ("chmod root", lambda: os.chmod(".", 0))]:
        try:
            fn()
            log.append(what)
        except OSError as e:
            log.append(what + ": " + e.strerror)
    print("; ".join(log))
else:
    print(open("arrays/staged.txt").read().strip(), oct(os.stat(".").st_mode & 0o777),
          os.path.isdir("/tmp"))
'''


def test_staged_inputs_and_root_are_back_for_the_next_run(box):
    victim = tempfile.mkdtemp(prefix="l4h-victim-")
    try:
        if box.user is not None:
            os.chown(victim, box.user, box.user)
        out = box.run(VANDAL, *SMALL, "--runs", "2", args=[victim])
        first, second = out["runs"]
        assert "rename arrays" in first["stdout"], first
        assert second["exit_code"] == 0, second
        assert second["stdout"].split() == ["staged", "input", "0o755", "True"], second
        assert os.listdir(victim) == []  # the code file went to a real directory
    finally:
        shutil.rmtree(victim, ignore_errors=True)
    assert workspaces(box) == []


def test_a_slot_directory_planted_by_another_user_is_refused(box):
    uid = box.user if box.user is not None else os.geteuid()
    slot_dir = os.path.join(box.scratch, f"llm4hep-slots-{uid}")
    other = tempfile.mkdtemp(prefix="l4h-other-")
    shutil.rmtree(slot_dir, ignore_errors=True)  # made by this box's earlier runs
    try:
        os.symlink(other, slot_dir)  # a link to a directory of someone else
        p = box.run("print('ran')", *SMALL, "--max-parallel", "1", expect_rc=3)
        assert slot_dir in p.stderr and "link" in p.stderr, p.stderr
        assert os.listdir(other) == []
        os.unlink(slot_dir)
        os.mkdir(slot_dir, 0o777)  # someone's open directory
        os.chmod(slot_dir, 0o777)
        p = box.run("print('ran')", *SMALL, "--max-parallel", "1", expect_rc=3)
        assert "mode 0777" in p.stderr and "remove it" in p.stderr, p.stderr
        os.rmdir(slot_dir)
        out = box.run("print('ran')", *SMALL, "--max-parallel", "1")["result"]
        assert out["stdout"] == "ran\n"
        st = os.stat(slot_dir)
        assert st.st_uid == uid and st.st_mode & 0o777 == 0o700
    finally:
        shutil.rmtree(other, ignore_errors=True)
        if os.path.islink(slot_dir):
            os.unlink(slot_dir)


# ------------------------------------------------------------ llm4hep run

MODELS = {
    # iteration 1 replaces logs/ and generated_code/ by links to a private
    # directory and plants task.json, a FIFO and a link to a secret;
    # iteration 2 must still run, and the host must write nowhere but its own
    "planter.yml": """
steps:
  create_numpy:
    supervisor: ["Plan.\\nVERDICT: CONTINUE", "Again.\\nVERDICT: CONTINUE", "Ok.\\nVERDICT: DONE"]
    coder:
      - {text: "```python\\nimport os, shutil\\nV = '%(victim)s'\\nfor d in ('logs', 'generated_code'):\\n    shutil.rmtree(d)\\n    os.symlink(V, d)\\nos.symlink(V + '/task.json', 'task.json')\\nos.symlink('/etc/shadow', 'arrays/shadow.npy')\\nos.mkfifo('arrays/fifo.npy')\\nprint('planted')\\n```"}
      - {text: "```python\\nprint('second iteration ran')\\n```"}
""",
    # a chain 3000 levels deep, then a clean second iteration
    "digger.yml": """
steps:
  create_numpy:
    supervisor: ["Plan.\\nVERDICT: CONTINUE", "Again.\\nVERDICT: CONTINUE", "Ok.\\nVERDICT: DONE"]
    coder:
      - {text: "```python\\nimport os\\nos.chdir('arrays')\\nfor i in range(3000):\\n    os.mkdir('d')\\n    os.chdir('d')\\nprint('dug')\\n```"}
      - {text: "```python\\nprint('second iteration ran')\\n```"}
""",
    # removes and replaces its staged inputs, then makes its root unusable
    "vandal.yml": """
steps:
  preprocess:
    supervisor: ["Plan.\\nVERDICT: CONTINUE", "Again.\\nVERDICT: CONTINUE", "Ok.\\nVERDICT: DONE"]
    coder:
      - {text: "```python\\nimport os, shutil\\nshutil.move('arrays', 'elsewhere')\\nos.symlink('/etc', 'arrays')\\nos.chmod('.', 0)\\nprint('vandalised')\\n```"}
      - {text: "```python\\nimport numpy as np\\nprint('rows', len(np.load('arrays/data_raw.npy')))\\n```"}
""",
    "quick.yml": """
steps:
  create_numpy:
    supervisor: ["Plan.\\nVERDICT: CONTINUE", "Ok.\\nVERDICT: DONE"]
    coder:
      - {text: "```python\\nprint('quick ran')\\n```"}
""",
}


def run(args, env, timeout=600, user=None):
    pre = [] if user is None else [
        "/usr/bin/setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "--"]
    return subprocess.run(pre + [BIN] + args, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def world():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="llm4hep-hostfs-"))
    tmp.chmod(0o755)  # the code runs as uid 65534, the user variant as 4242
    try:
        victim = tmp / "victim"  # a private directory: root's, or the user's own
        victim.mkdir(mode=0o700)
        models = tmp / "models"
        models.mkdir()
        for name, text in MODELS.items():
            (models / name).write_text(text % {"victim": victim})
        env = dict(os.environ)
        env.update(LLM4HEP_HGG_DATA=str(tmp / "data"), LLM4HEP_HGG_REF=str(tmp / "ref"),
                   LLM4HEP_HGG_SIZE="tiny", NO_COLOR="1")
        r = run(["reference", SUITE], env, timeout=900)
        assert r.returncode == 0, r.stdout + r.stderr
        configs = {}
        for who in ["root", "user"] if ROOT else ["self"]:
            scratch = tmp / ("scratch-" + who)
            scratch.mkdir()
            outs = tmp / ("outs-" + who)
            outs.mkdir()
            if who == "user":
                for p in (scratch, outs):
                    os.chown(p, 4242, 4242)
            cfg = tmp / ("hostfs-%s.yml" % who)
            cfg.write_text(
                "name: hostfs\nsuite: %s\noutput: %s\nscratch: %s\nmax_iterations: 2\n"
                "models: [t/quick]\nendpoints: {mine: {provider: scripted, dir: %s}}\n"
                "model_defaults: {endpoint: mine}\n"
                "sandbox: {max_parallel_per_node: 1}\n"
                % (SUITE, tmp / "hostfs.h5", scratch, models))
            configs[who] = {"cfg": str(cfg), "scratch": scratch, "outs": outs,
                            "user": 4242 if who == "user" else None}
        yield {"tmp": tmp, "env": env, "configs": configs, "victim": victim}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


WHO = ["root", "user"] if ROOT else ["self"]


def task(world, who, step, model, out_name):
    c = world["configs"][who]
    if c["user"] is not None:
        os.chown(world["victim"], c["user"], c["user"])
    else:
        os.chown(world["victim"], 0, 0)
    out = c["outs"] / out_name
    r = run(["run", c["cfg"], "--step", step, "--model", model, "--out-dir", str(out)],
            world["env"], user=c["user"])
    rec = json.loads((out / "task.json").read_text())
    left = [n for n in os.listdir(c["scratch"]) if n.startswith("llm4hep-") and "slots" not in n]
    return r, rec, out, left


@pytest.mark.parametrize("who", WHO)
def test_planted_links_never_lead_the_host_outside(world, who):
    r, rec, out, left = task(world, who, "create_numpy", "t/planter", "planter")
    assert os.listdir(world["victim"]) == [], r.stderr
    codes = [e for e in rec["execs"] if e["kind"] == "code"]
    assert [e["stdout_text"].strip() for e in codes] == ["planted", "second iteration ran"]
    assert not rec["status"].startswith("error") and rec["status"] != "interrupted"
    for f in ("logs/iter_1.stdout", "logs/iter_2.stdout", "generated_code/iter_2.py", "task.json"):
        assert (out / f).is_file() and not (out / f).is_symlink(), f
    assert (out / "logs/iter_1.stdout").read_text() == "planted\n"
    assert not os.path.lexists(out / "arrays/shadow.npy")  # links are never copied
    assert not os.path.lexists(out / "arrays/fifo.npy")
    assert left == []


@pytest.mark.parametrize("who", WHO)
def test_a_deep_chain_is_the_models_failure_and_is_removed(world, who):
    r, rec, out, left = task(world, who, "create_numpy", "t/digger", "digger")
    codes = [e for e in rec["execs"] if e["kind"] == "code"]
    assert codes[1]["stdout_text"].strip() == "second iteration ran"
    # stopped at the depth limit (or pruned to it after the run), copied out
    depth = max(len(p.relative_to(out).parts) for p in out.rglob("*"))
    assert 100 < depth <= 129, depth
    assert not rec["status"].startswith("error"), rec["status"]
    assert left == [], r.stderr


@pytest.mark.parametrize("who", WHO)
def test_vandalised_staged_inputs_are_back_and_counted_as_the_model(world, who):
    r, rec, out, left = task(world, who, "preprocess", "t/vandal", "vandal")
    codes = [e for e in rec["execs"] if e["kind"] == "code"]
    assert codes[0]["stdout_text"].strip() == "vandalised", codes[0]
    assert codes[1]["exit_code"] == 0, codes[1]
    assert codes[1]["stdout_text"].startswith("rows "), codes[1]
    assert not rec["status"].startswith("error"), (rec["status"], rec.get("error_summary"))
    assert left == []


@pytest.mark.parametrize("who", WHO)
def test_a_reused_out_dir_is_refused(world, who):
    r, rec, out, _ = task(world, who, "create_numpy", "t/quick", "reused")
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    c = world["configs"][who]
    r2 = run(["run", c["cfg"], "--step", "create_numpy", "--model", "t/quick", "--trial", "2",
              "--out-dir", str(out)], world["env"], user=c["user"])
    assert r2.returncode == 2, r2.stdout + r2.stderr
    assert "not empty" in r2.stderr and "mix two tasks" in r2.stderr
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    assert json.loads((out / "task.json").read_text())["trial"] == 1


def holds(pid, path):
    """Does process pid have path open?"""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                return True
        except OSError:
            pass
    return False


def test_sigterm_ends_the_wait_for_a_slot(world):
    c = world["configs"][WHO[0]]
    uid = c["user"] if c["user"] is not None else os.geteuid()
    slot_dir = c["scratch"] / f"llm4hep-slots-{uid}"
    slot_dir.mkdir(mode=0o700, exist_ok=True)
    slot = slot_dir / "slot.0"
    with open(slot, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # the node's only slot is busy
        out = c["outs"] / "waiting"
        p = subprocess.Popen([BIN, "run", c["cfg"], "--step", "create_numpy", "--model",
                              "t/quick", "--out-dir", str(out)], env=world["env"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # waiting for the slot: the run holds the slot directory open
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and p.poll() is None and not holds(p.pid, slot_dir):
            time.sleep(0.05)
        assert holds(p.pid, slot_dir), "never waited for the slot"
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        stdout, stderr = p.communicate(timeout=60)
        took = time.monotonic() - t0
    assert took < 10, took
    assert p.returncode == 3, stdout + stderr
    rec = json.loads((out / "task.json").read_text())
    assert rec["status"] == "interrupted", rec["status"]
