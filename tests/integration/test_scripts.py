"""The README's commands and CI's entry point: shell that shellcheck accepts,
helpful --help, clear refusals of unknown options."""
import os
import subprocess

from conftest import SRC
SCRIPTS = [os.path.join(SRC, "scripts", n) for n in ("setup.sh", "test.sh", "demo.sh", "fuzz.sh")] + \
          [os.path.join(SRC, ".ci", "run")]


def test_shellcheck_clean():
    r = subprocess.run(["shellcheck", *SCRIPTS], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_setup_help_and_bad_option():
    setup = os.path.join(SRC, "scripts", "setup.sh")
    r = subprocess.run(["bash", setup, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--tests" in r.stdout
    r = subprocess.run(["bash", setup, "--bogus"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown option '--bogus'" in r.stderr
