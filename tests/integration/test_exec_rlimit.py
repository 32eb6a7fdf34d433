"""Backend choice and the rlimit backend (issue 5).

`isolation: auto` uses bubblewrap when a trial run works; on a node where it
does not (played here with LLM4HEP_BWRAP pointing at a missing or failing
program) it refuses when `network: false`, and falls back to rlimit only when
the config allows the network or says `isolation: rlimit` explicitly. The
rlimit backend still gives a clean environment, an unprivileged uid when we
are root, read-only staged inputs, and no key in the code's reach.
"""
import json
import os

import pytest

from test_exec_sandbox import KEY_PREFIX, KEYHUNT, SMALL, Box


@pytest.fixture(scope="module")
def box():
    b = Box("auto")
    yield b
    b.close()


HELLO = "import os\nprint(os.getuid(), os.environ['LLM4HEP_WORKSPACE'])\n"


def run_with(box, isolation, network, bwrap=None, expect_rc=0):
    box.isolation = isolation
    env = box.env(**({"LLM4HEP_BWRAP": bwrap} if bwrap else {}))
    return box.run(HELLO, *SMALL, "--network", str(network), env=env, expect_rc=expect_rc)


@pytest.mark.parametrize("bwrap", ["/nonexistent/bwrap", "/bin/false"])
def test_auto_refuses_without_bubblewrap_when_network_is_false(box, bwrap):
    p = run_with(box, "auto", 0, bwrap=bwrap, expect_rc=3)
    msg = p.stderr
    assert "bubblewrap does not work on this node" in msg
    assert "sandbox.network: false" in msg and "isolation: rlimit" in msg
    assert p.stdout == ""


def test_auto_falls_back_to_rlimit_when_network_is_allowed(box):
    out = run_with(box, "auto", 1, bwrap="/nonexistent/bwrap")
    assert out["isolation"] == "rlimit" and out["result"]["isolation"] == "rlimit"
    uid, ws = out["result"]["stdout"].split()
    assert ws == out["workspace_host"]  # rlimit shows host paths


def test_explicit_bwrap_fails_without_bubblewrap(box):
    p = run_with(box, "bwrap", 0, bwrap="/nonexistent/bwrap", expect_rc=3)
    assert "bubblewrap" in p.stderr and "not found" in p.stderr


def test_explicit_rlimit_is_accepted_with_network_false(box):
    out = run_with(box, "rlimit", 0)
    assert out["result"]["isolation"] == "rlimit" and out["result"]["exit_code"] == 0


def test_auto_uses_bubblewrap_when_it_works(box):
    out = run_with(box, "auto", 0)
    assert out["result"]["isolation"] == "bwrap"
    assert out["result"]["stdout"].split()[1] == "/workspace"


@pytest.mark.skipif(os.geteuid() != 0, reason="the uid switch happens only when llm4hep runs as root")
def test_rlimit_runs_the_code_as_an_unprivileged_uid_when_root(box):
    out = run_with(box, "rlimit", 0)
    assert out["result"]["stdout"].split()[0] == "65534"


STAGED = r'''
import os
res = []
for what, fn in [("write", lambda: open("arrays/staged.txt", "w").write("x")),
                 ("unlink", lambda: os.unlink("arrays/staged.txt")),
                 ("rename", lambda: os.rename("arrays/staged.txt", "arrays/x.txt")),
                 ("chmod", lambda: os.chmod("arrays/staged.txt", 0o666))]:
    try:
        fn()
        res.append(what + ":done")
    except OSError:
        res.append(what + ":refused")
open("arrays/mine.txt", "w").write("own output")
print(" ".join(res))
'''


@pytest.mark.skipif(os.geteuid() != 0, reason="staged inputs are root's only when llm4hep runs as root")
def test_rlimit_staged_inputs_are_read_only(box):
    box.isolation = "rlimit"
    res = box.run(STAGED, *SMALL)["result"]
    assert res["stdout"] == "write:refused unlink:refused rename:refused chmod:refused\n"
    files = {f["path"]: f["size"] for f in res["files"]}
    assert files["arrays/staged.txt"] == len("staged input\n") and files["arrays/mine.txt"] == 10


@pytest.mark.skipif(os.geteuid() != 0, reason="other uids' /proc entries are what protects the key")
def test_rlimit_key_is_out_of_reach(box):
    box.isolation = "rlimit"
    res = box.run(KEYHUNT.replace("PREFIX", KEY_PREFIX), *SMALL, args=[box.keyfile])["result"]
    assert res["exit_code"] == 0, res
    found = json.loads(res["stdout"])
    assert found["found"] == [] and found["proxies"] == []


@pytest.mark.skipif(os.geteuid() != 0, reason="the check applies when llm4hep runs as root")
def test_scratch_the_sandbox_uid_cannot_reach_is_named(box):
    private = os.path.join(box.base, "private")
    os.mkdir(private)
    os.chmod(private, 0o700)
    box.isolation = "bwrap"
    p = box.run("print('x')", *SMALL, "--scratch", os.path.join(private, "scratch"), expect_rc=3)
    assert f"directory {private} is not searchable by uid 65534" in p.stderr
    assert "chmod o+x" in p.stderr
