"""test_exec_launch.py — how the sandbox knows it started the program, and the
view of the suite's own programs (issues 19 and 12), for both backends, as
root (code as uid 65534) and, under bubblewrap, as an ordinary user.

- The launch's outcome comes from the launcher's close-on-exec status pipe:
  code that prints bubblewrap's error message and exits 1 is a run of the
  code (exit 1), not a sandbox failure; the code inherits no descriptor but
  0, 1 and 2.
- A launch that fails in a workspace the code left unusable (chmod 000 of its
  root) while the sandbox works without it is the code's failed run (exit
  126, not_started); a sandbox that fails without any workspace stays a
  sandbox failure (exit 3 of the driver).
- Suite programs (check programs, tools) run an isolated interpreter, with
  HOME and the working directory outside the workspace, the workspace
  read-only under bubblewrap.
"""
import json
import os
import pathlib
import subprocess

import pytest

from test_exec_sandbox import DRIVER, KEY, SMALL, Box


@pytest.fixture(scope="module", params=[("bwrap", None), ("rlimit", None)] +
                ([("bwrap", 4242)] if os.geteuid() == 0 else []),
                ids=lambda p: "%s-%s" % (p[0], "self" if p[1] is None else "user"))
def box(request):
    iso, user = request.param
    b = Box(iso, user=user)
    yield b
    b.close()


FAKE_BWRAP = r'''
import os, sys
print(sorted(int(x) for x in os.listdir("/proc/self/fd")))
sys.stderr.write("bwrap: Can't find source path /workspace/x: No such file or directory\n")
sys.exit(1)
'''


def test_bubblewrap_shaped_stderr_is_the_codes_own_exit(box):
    out = box.run(FAKE_BWRAP, *SMALL)["result"]
    assert out["exit_code"] == 1 and not out["not_started"]
    assert out["stderr"].startswith("bwrap: Can't find source path")
    # 0, 1, 2 and the directory listing's own fd: no status pipe, no launcher
    fds = json.loads(out["stdout"])
    assert fds[:3] == [0, 1, 2] and len(fds) == 4, fds


CHMOD_ROOT = r'''
import os
try:
    os.chmod(os.environ["LLM4HEP_WORKSPACE"], 0)
    print("chmodded")
except OSError as e:
    print("refused", e)
'''


def test_a_workspace_left_unusable_is_the_codes_failure_not_the_sandboxs(box):
    out = box.run(CHMOD_ROOT, *SMALL, "--runs", "2")
    first, second = out["runs"]
    assert first["exit_code"] == 0
    if "chmodded" not in first["stdout"]:
        pytest.skip("the workspace root is not the code's to chmod here")
    # whatever the backend does with it, the driver got a result: not exit 3.
    # Either the harness gave the root its mode back before the next run (the
    # workspace restore): the same code runs there again and chmods it again;
    # or the sandbox could not start it there and the workspace is the cause.
    if second["not_started"]:
        assert second["exit_code"] == 126
        assert "workspace is the cause" in second["stderr"]
    else:
        assert second["exit_code"] == 0 and "chmodded" in second["stdout"]


def test_a_sandbox_that_fails_without_a_workspace_stays_a_sandbox_failure(box):
    if box.isolation != "bwrap" or box.user is not None:
        pytest.skip("plays a broken bubblewrap, as we are")
    # works for the trial run at open, then fails like a broken installation
    real = "/usr/bin/bwrap"
    d = pathlib.Path(box.outside)  # searchable by uid 65534, which starts bwrap
    count = d / "count"
    fake = d / "bwrap"
    fake.write_text("#!/bin/sh\nn=$(cat %s 2>/dev/null || echo 0)\necho $((n+1)) > %s\n"
                    "[ \"$n\" -lt 1 ] && exec %s \"$@\"\n"
                    "echo 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n"
                    % (count, count, real))
    fake.chmod(0o755)
    count.write_text("0")
    os.chmod(count, 0o666)
    p = box.run("print('never')", *SMALL, env=box.env(LLM4HEP_BWRAP=str(fake)), expect_rc=3)
    assert "never started" in p.stderr and "without the workspace too" in p.stderr, p.stderr


CHECK_VIEW = r'''
import json, os, sys
r = {"isolated": sys.flags.isolated, "no_user_site": sys.flags.no_user_site,
     "home": os.environ.get("HOME"), "cwd": os.getcwd(), "path": sys.path,
     "pythonpath": os.environ.get("PYTHONPATH")}
try:
    with open(os.path.join(os.environ["LLM4HEP_WORKSPACE"], "x.txt"), "w") as f:
        f.write("x")
    r["ws_write"] = "ok"
except OSError as e:
    r["ws_write"] = e.strerror
print(json.dumps(r))
'''


def test_check_programs_run_isolated_outside_the_workspace(box):
    prog = os.path.join(box.codes, "check_view.py")
    with open(prog, "w") as f:
        f.write(CHECK_VIEW)
    out = box.run("", *SMALL, "--see-reference", "--program", prog)
    res = out["result"]
    assert res["exit_code"] == 0, res["stderr"]
    r = json.loads(res["stdout"])
    ws = out["workspace_view"]
    assert r["isolated"] == 1 and r["no_user_site"] == 1 and r["pythonpath"] is None
    assert not r["home"].startswith(ws) and not r["cwd"].startswith(ws)
    assert not any(p.startswith(ws) for p in r["path"]), r["path"]
    if box.isolation == "bwrap":
        assert r["ws_write"] == "Read-only file system"


# --- rlimit: never where the code could read the reference or a key --------

READ_REFERENCE = r'''
import json, os, sys
ref = sys.argv[1]
res = {}
for what, fn in [("list", lambda: os.listdir(ref)),
                 ("read", lambda: open(os.path.join(ref, "answer.txt")).read())]:
    try:
        fn()
        res[what] = "ok"
    except OSError as e:
        res[what] = e.strerror
print(json.dumps(res))
'''


@pytest.fixture()
def rbox():
    b = Box("rlimit")
    yield b
    b.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="rlimit runs only as root")
def test_rlimit_code_cannot_read_the_closed_reference_but_checks_can(rbox):
    out = rbox.run(READ_REFERENCE, *SMALL, args=[rbox.ref])["result"]
    assert out["exit_code"] == 0, out["stderr"]
    assert json.loads(out["stdout"]) == {"list": "Permission denied", "read": "Permission denied"}
    prog = os.path.join(rbox.codes, "check_ref.py")
    with open(prog, "w") as f:
        f.write(READ_REFERENCE)
    out = rbox.run("", *SMALL, "--see-reference", "--program", prog, args=[rbox.ref])["result"]
    assert out["exit_code"] == 0, out["stderr"]
    assert json.loads(out["stdout"]) == {"list": "ok", "read": "ok"}


@pytest.mark.skipif(os.geteuid() != 0, reason="plays both sides")
def test_rlimit_refuses_a_reference_the_code_could_read(rbox):
    rbox.isolation = "rlimit"
    env = rbox.env()
    cmd_ok = rbox.run("print(1)", *SMALL, env=env)  # closed: runs
    assert cmd_ok["result"]["exit_code"] == 0
    rbox.isolation = "rlimit-open"  # Box.run closes it only for "rlimit"
    os.chmod(rbox.ref, 0o755)
    p = subprocess.run([DRIVER, "--isolation", "rlimit", "--scratch", rbox.scratch, "--data",
                        rbox.data, "--reference", rbox.ref, rbox.codes], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 3, p.stderr
    assert "could read %s" % rbox.ref in p.stderr and "chmod" in p.stderr, p.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="plays an ordinary user")
def test_rlimit_as_an_ordinary_user_refuses_and_says_why(rbox):
    os.chown(rbox.scratch, 4242, 4242)
    os.chown(rbox.home, 4242, 4242)
    cmd = ["/usr/bin/setpriv", "--reuid=4242", "--regid=4242", "--clear-groups", "--",
           DRIVER, "--isolation", "rlimit", "--scratch", rbox.scratch, "--data", rbox.data,
           "--reference", rbox.ref, "--secret-env", "CBORG_API_KEY", rbox.codes]
    p = subprocess.run(cmd, env=rbox.env(), capture_output=True, text=True, timeout=120)
    assert p.returncode == 3, p.stderr
    assert "as an ordinary user" in p.stderr and "/proc/PID/environ" in p.stderr
    assert "bubblewrap" in p.stderr and "root" in p.stderr
    assert KEY not in p.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="plays a node without bubblewrap")
def test_auto_never_falls_back_to_an_rlimit_that_shows_the_reference(rbox):
    rbox.isolation = "auto-open"
    os.chmod(rbox.ref, 0o755)
    env = rbox.env(LLM4HEP_BWRAP="/nonexistent/bwrap")
    p = subprocess.run([DRIVER, "--isolation", "auto", "--network", "1", "--scratch",
                        rbox.scratch, "--data", rbox.data, "--reference", rbox.ref, rbox.codes],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 3, p.stderr
    assert "bubblewrap does not work" in p.stderr and "could read" in p.stderr, p.stderr
