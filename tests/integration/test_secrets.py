"""test_secrets.py — issue 14 §1 through the real HTTP path: what a model
wrote is recorded and run byte for byte whatever the API key is; a key too
short to be a secret (EMPTY, x, dummy, * — what local servers take) is said
once at start and never looked for in text; a real key is redacted from the
error bodies, logs and output that can carry it, and found nowhere in the
results file."""
import os

import h5py
import pytest

from campaign_util import make_campaign, output_of, run_sweep, text
import campaign_util as cu  # noqa: E402

from conftest import SRC
from llm_testkit import LLMServer

FIXTURE = os.path.join(SRC, "tests", "fixtures", "secrets")
CODE = open(os.path.join(FIXTURE, "placeholder.py"), "rb").read()
VAR = "LOCAL_LLM_KEY"


def campaign_with_key(srv):
    return make_campaign(None, ("scripted/placeholder",), name="secrets-test",
                         endpoints=f"local: {{base_url: '{srv.base_url}', api_key_env: {VAR}}}",
                         model_defaults="{endpoint: local}",
                         extra="steps: [double]\nretry: {max_attempts: 3, base_s: 0.1, max_s: 0.2}\n")


def code_execs(out):
    with h5py.File(out, "r") as f:
        return [(text(f, e, "code"), text(f, e, "stdout"))
                for e in f["execs"][:] if e["kind"] == b"code"]


@pytest.mark.parametrize("key", ["EMPTY", "x", "dummy", "*"])
def test_placeholder_key_leaves_the_code_byte_identical(key):
    with LLMServer(scripted_dir=FIXTURE, api_key=key) as srv:
        cfg = campaign_with_key(srv)
        r = run_sweep(cfg, 2, env={VAR: key}, timeout=600)
        reqs = srv.requests()
    assert r.returncode == 0, r.stdout + r.stderr
    # the server checked the key: every request carried it as given
    assert reqs and all(q["headers"].get("Authorization") == f"Bearer {key}" for q in reqs)
    execs = code_execs(output_of(cfg))
    assert execs
    for code, stdout in execs:
        assert code.encode() == CODE          # what the results file holds
        assert stdout.encode() == CODE        # what ran (the code prints itself)
    # said once, at start, for the campaign (not once per rank or task)
    assert r.stderr.count(f"the key in ${VAR} is {len(key)} character") == 1, r.stderr
    assert "not redacted" in r.stderr


def test_real_key_is_redacted_from_error_bodies_logs_and_output():
    key = "sk-local-" + "7f3a9c1e55d0b2c4" * 2
    with LLMServer(scripted_dir=FIXTURE, api_key=key) as srv:
        cfg = campaign_with_key(srv)
        # the first request meets an error body that echoes the key (retried)
        srv.faults([{"fault": "error_body", "status": 503, "message": f"overloaded ({key})"}])
        r = run_sweep(cfg, 2, env={VAR: key}, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert key not in r.stdout + r.stderr
    assert "not redacted" not in r.stderr
    out = output_of(cfg)
    with h5py.File(out, "r") as f:
        logs = [text(f, c, "attempt_log") for c in f["calls"][:]]
        assert any(f"overloaded ([redacted:{VAR}])" in log for log in logs), logs
        assert key.encode() not in bytes(f["text"][:])
        for name in ("tasks", "calls", "execs", "checks", "runs"):
            assert key.encode() not in f[name][:].tobytes()
    assert key.encode() not in cu.journal_text(out + ".journal")  # task records are deflated
    for code, stdout in code_execs(out):   # the code is still exactly as sent
        assert code.encode() == CODE and stdout.encode() == CODE
