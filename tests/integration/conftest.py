"""Where the integration tests find things: the one place.

Every test file imports its paths from here instead of reading the
environment itself:

    from conftest import BIN, SRC, TOOLS, PY, HGG_SUITE
    from llm_testkit import LLMServer      # tests/server is on sys.path

CTest sets (tests/CMakeLists.txt) LLM4HEP_BIN, LLM4HEP_SOURCE_DIR,
LLM4HEP_BUILD_DIR, LLM4HEP_PYTHON and LLM4HEP_TOOLS_DIR; each is honoured,
and each has one default for a bare `pytest tests/integration/...` from a
checkout built with scripts/setup.sh --tests (build/ beside the sources).
When the binary is not there the session stops before collecting anything,
with one message saying what to do (`missing_build()`), instead of each file
failing in its own way.

pytest puts this directory on sys.path (rootdir-relative "prepend" imports),
so `import conftest` and `import campaign_util` work from every test file;
this module adds scripts/ (llm4hep.py, plots.py) and tests/server
(llm_testkit, llm_server) so no test file calls sys.path.insert. The bench
scripts (plain Python, not pytest) put this directory on sys.path and
import it the same way.
"""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.environ.get("LLM4HEP_SOURCE_DIR") or os.path.join(HERE, "..", ".."))
BUILD = os.path.abspath(os.environ.get("LLM4HEP_BUILD_DIR") or os.path.join(SRC, "build"))
BIN = os.path.abspath(os.environ.get("LLM4HEP_BIN") or os.path.join(BUILD, "llm4hep"))
TOOLS = os.path.abspath(os.environ.get("LLM4HEP_TOOLS_DIR") or os.path.join(BUILD, "tests", "tools"))
PY = os.environ.get("LLM4HEP_PYTHON") or sys.executable
SCRIPTS = os.path.join(SRC, "scripts")
SERVER_DIR = os.path.join(SRC, "tests", "server")
FIXTURES = os.path.join(SRC, "tests", "fixtures")
HGG_SUITE = os.path.join(SRC, "reference", "hgg", "suite.yml")
HZZ_SUITE = os.path.join(SRC, "reference", "hzz", "suite.yml")

for _d in (SERVER_DIR, SCRIPTS, HERE):
    if _d not in sys.path:
        sys.path.insert(0, _d)


def missing_build():
    """None when the binary is there and executable, else the one message
    saying where it was looked for and what to do."""
    if os.path.isfile(BIN) and os.access(BIN, os.X_OK):
        return None
    how = "LLM4HEP_BIN" if os.environ.get("LLM4HEP_BIN") else \
        "LLM4HEP_BUILD_DIR/llm4hep" if os.environ.get("LLM4HEP_BUILD_DIR") else \
        "the default build/llm4hep beside the sources"
    return (f"llm4hep binary not found at {BIN} (from {how}): build it with "
            f"`scripts/setup.sh --tests` (or `cmake --build build`), or point LLM4HEP_BIN "
            f"(and LLM4HEP_BUILD_DIR, LLM4HEP_TOOLS_DIR) at a build; `scripts/test.sh` sets them")


def pytest_sessionstart(session):
    msg = missing_build()
    if msg:
        pytest.exit(msg, returncode=3)
