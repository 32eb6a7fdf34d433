"""valgrind --leak-check=full on the LLM client: the driver runs chats that
retry through every kind of fault, a model check, and the scripted backend,
with no leak and no memory error."""
import os
import shutil
import subprocess

import pytest

from conftest import BUILD, SRC, TOOLS
from llm_testkit import LLMServer

CHAT = os.path.join(TOOLS, "llm_chat")
SCRIPTED = os.path.join(SRC, "tests", "fixtures", "llm", "scripted")
VALGRIND = shutil.which("valgrind")


def sanitized_build():
    """valgrind cannot run binaries built with AddressSanitizer."""
    try:
        with open(os.path.join(BUILD, "CMakeCache.txt")) as fh:
            return "LLM4HEP_SANITIZE:BOOL=ON" in fh.read()
    except OSError:
        return False


pytestmark = [pytest.mark.skipif(VALGRIND is None, reason="valgrind is not installed"),
              pytest.mark.skipif(sanitized_build(), reason="an ASan build; the sanitizers check leaks there")]


def grind(args, expect_rc=0, program=CHAT):
    cmd = [VALGRIND, "--leak-check=full", "--show-leak-kinds=definite,indirect",
           "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99", "-q", program] + args
    e = dict(os.environ, LLM4HEP_VG_KEY="sk-valgrind-key")
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=e)
    assert p.returncode == expect_rc, p.stderr[-4000:]
    assert "definitely lost" not in p.stderr and "Invalid" not in p.stderr, p.stderr[-4000:]
    return p


def test_http_client_through_faults_has_no_leaks():
    with LLMServer(scripted_dir=SCRIPTED) as srv:
        srv.faults([{"fault": "status", "status": 429, "retry_after": "0"},
                    {"fault": "status", "status": 502, "body": "html"},
                    {"fault": "truncated_json"},
                    {"fault": "reset"},
                    {"fault": "tool_calls", "tool_calls": [{"name": "f", "arguments": "{}"}]},
                    {"fault": "error_body", "status": 400, "code": "400", "message": "bad"}])
        base = ["--base-url", srv.base_url, "--api-key-env", "LLM4HEP_VG_KEY", "--model", "echo",
                "--max-attempts", "6", "--base-s", "0.01", "--max-s", "0.05", "--price", "1,1"]
        grind(base + ["--count", "3", "--threads", "2",
                      "--tool", 'f={"type":"object"}'], expect_rc=3)  # the 400 fails one call
        grind(base + ["--check"])
        grind(base + ["--model", "scripted/demo", "--step", "categorization", "--agent", "coder",
                      "--count", "2"])


def test_scripted_backend_has_no_leaks():
    grind(["--scripted-dir", SCRIPTED, "--model", "scripted/demo", "--step", "create_numpy",
           "--agent", "coder", "--count", "3"])
    grind(["--scripted-dir", SCRIPTED, "--model", "scripted/demo", "--step", "nope",
           "--agent", "coder"], expect_rc=3)


@pytest.mark.parametrize("name", ["llm_test_scripted", "llm_test_replay", "llm_test_parse", "llm_test_retry"])
def test_unit_programs_have_no_leaks(name):
    program = os.path.join(BUILD, "tests", name)
    assert os.path.exists(program), f"{program} is not built"
    grind([], program=program)
