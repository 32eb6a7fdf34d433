"""Issue 15's naming and surface rules, measured on the sources by
scripts/surface.py: every function in a public header is used by another
room, and non-static functions follow one of two conventions (l4h_ public,
<room>_ room-internal), each room with its <room>_internal.h."""
import os
import re
import subprocess
import sys

from conftest import SRC


def surface(*args):
    p = subprocess.run([sys.executable, os.path.join(SRC, "scripts", "surface.py"), *args, SRC],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_every_public_function_is_used_by_another_room():
    out = surface("--list")
    total = re.search(r"^total\s+(\d+)\s+(\d+)", out, re.M)
    assert total and int(total.group(1)) > 100, out
    assert int(total.group(2)) == 0, out


def test_two_naming_conventions_and_one_internal_header_per_room():
    out = surface("--names")
    m = re.search(r"naming conventions in use \(non-static functions in src/\): (\d+)", out)
    assert m and int(m.group(1)) == 2, out
    headers = re.search(r"^internal headers: (.*)$", out, re.M).group(1).split()
    for h in headers:
        room = h.split("/")[1]
        assert h == f"src/{room}/{room}_internal.h" or h == "src/store/pieces.h", h
    rooms = {h.split("/")[1] for h in headers}
    assert {"agent", "check", "cli", "core", "exec", "llm", "mpi", "report", "store"} <= rooms
