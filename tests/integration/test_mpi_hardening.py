"""test_mpi_hardening.py — the sweep's ranks hold the API keys in their
environment: they must be non-dumpable, so that code running as the same uid
(the rlimit backend as an ordinary user, refused now, or any other process of
that uid) cannot read /proc/<rank>/environ (issue 13 item 6).

Played as an ordinary user (uid 4242 runs the campaign under bubblewrap, as
on a cluster, and another process of that uid looks): reading a rank's
environ must fail, while mpirun's — which llm4hep does not control, and why
isolation: rlimit refuses to run as an ordinary user with a key in the
environment — still works, proving the probe sees a key where one is
exposed."""
import os
import signal
import subprocess
import time

import pytest

from campaign_util import BIN, _children, make_campaign, mpi_env, sweep_cmd

KEY = "sk-l4h-rank-key-0123456789"
USER = 4242
AS_USER = ["/usr/bin/setpriv", "--reuid=%d" % USER, "--regid=%d" % USER, "--clear-groups", "--"]


def read_environ_as_user(pid):
    """cat /proc/pid/environ as the campaign's own (ordinary) uid."""
    return subprocess.run(AS_USER + ["cat", "/proc/%d/environ" % pid], capture_output=True,
                          timeout=30)


def _descendants(pid):
    """Every process below pid, now."""
    out, todo = [], [pid]
    while todo:
        for c in _children(todo.pop()):
            out.append(c)
            todo.append(c)
    return out


@pytest.mark.skipif(os.geteuid() != 0, reason="plays an ordinary user")
def test_sweep_ranks_do_not_show_their_environment(tmp_path):
    cfg = make_campaign(tmp_path, models=("scripted/slow",), trials=4)
    root = os.path.dirname(cfg)
    tmp = os.path.join(root, "tmp")
    os.makedirs(tmp)
    subprocess.run(["chown", "-R", "%d:%d" % (USER, USER), root], check=True)
    env = mpi_env({"L4H_TEST_API_KEY": KEY, "TMPDIR": tmp, "HOME": tmp})
    for k in ("OMPI_ALLOW_RUN_AS_ROOT", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"):
        env.pop(k, None)
    p = subprocess.Popen(AS_USER + sweep_cmd(cfg, 3), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    try:
        ranks, deadline = [], time.monotonic() + 120
        while len(ranks) < 3 and time.monotonic() < deadline and p.poll() is None:
            ranks = []
            for pid in _descendants(p.pid):
                try:
                    cmd = open("/proc/%d/cmdline" % pid, "rb").read().split(b"\0")
                except OSError:
                    continue
                if cmd and cmd[0] == BIN.encode() and b"sweep" in cmd:
                    ranks.append(pid)
            time.sleep(0.05)
        assert len(ranks) == 3, "ranks not found while the sweep ran"
        # a rank that has started may still be before its own hardening: the
        # first thing l4h_sweep does; wait (bounded) for each to be closed
        for pid in ranks:
            end = time.monotonic() + 30
            r = read_environ_as_user(pid)
            while r.returncode == 0 and time.monotonic() < end:
                time.sleep(0.05)
                r = read_environ_as_user(pid)
            assert r.returncode != 0 and KEY.encode() not in r.stdout, pid
            # refused while the rank lives, not merely gone
            assert b"Permission denied" in r.stderr, (r.stderr, p.poll())
            assert os.path.exists("/proc/%d" % pid) and p.poll() is None
        # the control: mpirun (setpriv exec'd into it) is an ordinary
        # process: its key is readable
        ctl = read_environ_as_user(p.pid)
        assert ctl.returncode == 0 and KEY.encode() in ctl.stdout
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0, out
        assert "sandbox bwrap: own namespaces" in out, out
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)  # its own session: the whole job
            p.wait(timeout=60)
