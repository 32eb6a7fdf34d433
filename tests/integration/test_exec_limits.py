"""Hostile payloads against the sandbox's limits, under both backends (issue 5,
Done-when): an infinite loop, a 50 GB allocation, a fork bomb, a 10 GB file
write, more than workspace_mb of files, 1 GB of stdout, and children that
detach with setsid and sleep forever. Each must be stopped by its limit (small
limits here so that every case ends in seconds), its partial output must come
back, nothing it started may be left running, and the next task must run
normally.
"""
import os

import pytest

from test_exec_sandbox import SMALL, Box, check_next_run_works, leftovers, new_marker

TIMEOUT = 5.0  # SMALL's --timeout
SLACK = 3.0    # start-up, kill and reap on a loaded 2-core machine


# "user": the driver runs as an ordinary uid (as on a cluster), not root;
# rlimit refuses to run as an ordinary user (test_exec_launch.py)
@pytest.fixture(scope="module", params=["bwrap", "rlimit"] + (
    ["bwrap-user"] if os.geteuid() == 0 else []))
def box(request):
    iso, _, user = request.param.partition("-")
    b = Box(iso, user=4242 if user else None)
    yield b
    b.close()


def run_payload(box, code, marker, *flags):
    """Run code with the marker as its argument; check the common promises."""
    out = box.run(code, *SMALL, *flags, args=[marker])
    res = out["result"]
    assert res["isolation"] == box.isolation
    assert res["wall_s"] < TIMEOUT + SLACK, res
    assert leftovers(marker) == []
    assert res["stdout"].startswith("start\n"), res["stdout"][:200]  # partial output is back
    check_next_run_works(box)
    return res


def test_infinite_loop_is_stopped_by_the_timeout(box):
    res = run_payload(box, "print('start')\nwhile True:\n    pass\n", new_marker())
    assert res["timed_out"] and res["limit"] == "time"
    assert res["signal"] == 9 and res["exit_code"] == -1
    assert res["wall_s"] >= TIMEOUT


def test_50_gb_allocation_fails_with_memory_error(box):
    res = run_payload(box, "print('start')\nb = bytearray(50 * 1024**3)\n", new_marker())
    assert res["limit"] == "memory" and res["exit_code"] == 1
    assert "MemoryError" in res["stderr"]
    assert not res["timed_out"]


def test_fork_bomb_is_bounded_and_fully_killed(box):
    code = "import os\nprint('start')\nwhile True:\n    os.fork()\n"
    res = run_payload(box, code, new_marker())
    assert res["limit"] in ("nproc", "time"), res["limit"]
    if res["limit"] == "nproc":
        assert "Resource temporarily unavailable" in res["stderr"]


def test_fork_bomb_that_survives_its_errors_is_killed_at_the_timeout(box):
    code = ("import os\nprint('start')\nwhile True:\n    try:\n        os.fork()\n"
            "    except OSError:\n        pass\n")
    res = run_payload(box, code, new_marker())
    assert res["timed_out"] and res["limit"] == "time"


def test_10_gb_file_write_stops_at_the_file_size_limit(box):
    code = ("print('start')\nchunk = b'x' * 2**20\nwith open('arrays/big.bin', 'wb') as f:\n"
            "    for i in range(10 * 1024):\n        f.write(chunk)\n")
    res = run_payload(box, code, new_marker())
    # RLIMIT_FSIZE is workspace_mb, so the file hits it just as the whole
    # workspace (code, staged input) crosses workspace_mb: either may win
    assert res["limit"] in ("fsize", "workspace"), res["limit"]
    if res["limit"] == "fsize":
        assert res["exit_code"] == 1 and "File too large" in res["stderr"]
    sizes = {f["path"]: f["size"] for f in res["files"]}
    assert sizes["arrays/big.bin"] <= 64 * 2**20  # --workspace-mb 64


def test_more_than_workspace_mb_of_files_is_stopped(box):
    code = ("import time\nprint('start')\nchunk = b'x' * (4 * 2**20)\n"
            "for i in range(500):\n    open(f'arrays/f{i}.bin', 'wb').write(chunk)\n"
            "print('wrote 2 GB')\ntime.sleep(1000)\n")
    res = run_payload(box, code, new_marker())
    assert res["limit"] == "workspace" and res["signal"] == 9
    assert not res["timed_out"] and "wrote 2 GB" not in res["stdout"]
    assert len(res["files"]) > 16  # the files written so far are listed


def test_1_gb_of_stdout_is_cut_and_stopped(box):
    code = ("import sys\nprint('start')\nline = 'x' * 1023 + '\\n'\n"
            "for i in range(1024 * 1024):\n    sys.stdout.write(line)\nprint('end')\n")
    res = run_payload(box, code, new_marker())
    assert res["limit"] == "output" and res["signal"] == 9
    assert res["truncated"] and "bytes cut ...]" in res["stdout"]
    assert len(res["stdout"]) < 4096 + 100  # --output-bytes 4096 plus the cut marker


def test_detached_sleeper_is_killed_when_the_code_exits(box):
    marker = new_marker()
    code = ("import subprocess, sys\nprint('start')\n"
            "p = subprocess.Popen(['sleep', sys.argv[1]], start_new_session=True)\n"
            "print('detached', p.pid)\n")
    res = run_payload(box, code, marker)
    assert res["exit_code"] == 0 and "detached" in res["stdout"], res["stderr"]


def test_detached_sleeper_is_killed_at_the_timeout(box):
    marker = new_marker()
    code = ("import os, sys, time\nprint('start')\n"
            "if os.fork() == 0:\n    os.setsid()\n    os.execvp('sleep', ['sleep', sys.argv[1]])\n"
            "time.sleep(1000)\n")
    res = run_payload(box, code, marker)
    assert res["timed_out"] and res["limit"] == "time"


def test_sigusr1_does_not_reach_the_code(box):
    code = ("import os, time\nprint('start')\nos.kill(os.getpid(), 10)\ntime.sleep(0.2)\n"
            "print('survived SIGUSR1')\n")
    res = run_payload(box, code, new_marker())
    assert res["exit_code"] == 0 and "survived SIGUSR1" in res["stdout"]


def test_environment_is_clean(box):
    code = ("import json, os\nprint('start')\nprint(json.dumps(dict(os.environ)))\n")
    res = run_payload(box, code, new_marker())
    env = __import__("json").loads(res["stdout"].split("\n", 1)[1])
    env.pop("PWD", None)
    env.pop("LLM4HEP_EXEC_TOKEN", None)  # rlimit's kill marker
    ws = env["LLM4HEP_WORKSPACE"]
    assert env.pop("HOME") == ws + "/.home"
    assert env.pop("LLM4HEP_DATA") == ("/data" if box.isolation == "bwrap" else box.data)
    assert env.pop("PATH").endswith(":/usr/local/bin:/usr/bin:/bin")
    assert env == {"LLM4HEP_WORKSPACE": ws, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0",
                   "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
                   "OMP_NUM_THREADS": "1", "TZ": "UTC", "LANG": "C.UTF-8", "TMPDIR": "/tmp"}


def test_the_next_run_in_a_full_workspace_can_clean_up(box):
    code = ("import glob, os, time\nbig = glob.glob('arrays/f*.bin')\nif big:\n"
            "    for f in big:\n        os.unlink(f)\n    print('cleaned', len(big))\nelse:\n"
            "    c = b'x' * (4 * 2**20)\n    for i in range(500):\n"
            "        open(f'arrays/f{i}.bin', 'wb').write(c)\n    time.sleep(1000)\n")
    first, second = box.run(code, *SMALL, "--runs", "2")["runs"]
    assert first["limit"] == "workspace"
    assert second["exit_code"] == 0 and second["limit"] == "", second
    assert second["stdout"].startswith("cleaned")
    assert not any(f["path"].startswith("arrays/f") for f in second["files"])


def test_processes_are_capped_at_256(box):
    # children that stay alive until the parent is done: the fork that fails
    # is the one past the per-sandbox budget (RLIMIT_NPROC 256, threads too)
    code = ("import os, sys, time\nprint('start')\nn = 0\nwhile n < 1000:\n    try:\n"
            "        pid = os.fork()\n    except OSError as e:\n        print('refused after', n, e.errno)\n"
            "        break\n    if pid == 0:\n        time.sleep(30)\n        os._exit(0)\n    n += 1\n")
    res = run_payload(box, code, new_marker())
    assert res["exit_code"] == 0, res["stderr"]
    n = int(res["stdout"].split("refused after ")[1].split()[0])
    assert n < 256 and res["stdout"].rstrip().endswith(" 11")  # EAGAIN
    if box.isolation == "bwrap":
        # the budget is the sandbox's own (counted per user namespace); under
        # rlimit it is shared by every process of the uid on the node
        assert n >= 250, n


def test_a_reaper_reaps_the_codes_orphans_during_the_run_and_ends_them_after(box):
    """As the task process runs code (issue 14 §3): the reaper of its
    descendants' orphans. An orphan of the code that exits is reaped during
    the run (a zombie would hold a place in the code uid's process limit
    until the run ends), and one that lives on — in a session of its own,
    out of every process group — is ended with the run."""
    marker = new_marker()
    code = ("import os, sys, time\nprint('start')\n"
            "def orphan(then):\n"
            "    r, w = os.pipe()\n"
            "    if os.fork() == 0:\n"
            "        os.setsid()\n"
            "        pid = os.fork()\n"
            "        if pid == 0:\n"
            "            then()\n"
            "        os.write(w, str(pid).encode()); os._exit(0)\n"
            "    os.close(w); pid = int(os.read(r, 32)); os.wait(); return pid\n"
            "def die():\n    time.sleep(0.2); os._exit(0)\n"
            "def live():\n    os.execvp('sleep', ['sleep', sys.argv[1]])\n"
            "dead, alive = orphan(die), orphan(live)\n"
            "if os.getpid() == 1:\n    print('init', alive); sys.exit(0)\n"
            "end = time.monotonic() + 60\n"
            "while os.path.exists(f'/proc/{dead}') and time.monotonic() < end:\n"
            "    time.sleep(0.05)\n"
            "print('reaped' if not os.path.exists(f'/proc/{dead}') else 'still a zombie', alive)\n")
    res = run_payload(box, code, marker, "--adopt-orphans")  # checks: nothing left
    assert res["exit_code"] == 0, res["stderr"]
    if box.isolation == "bwrap":
        # the code is its namespace's init: its orphans come to it, not to us
        assert res["stdout"].startswith("start\ninit"), res["stdout"]
    else:
        assert "reaped" in res["stdout"], res["stdout"]
