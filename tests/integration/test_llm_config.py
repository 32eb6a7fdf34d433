"""The LLM client driven by a real campaign config (core's loader): the
model's endpoint from models_config over model_defaults, temperature null
omitted, prices, retry settings, per-endpoint rate limits, a scripted endpoint
beside an HTTP one, and ${VAR} in base_url."""
import json
import os
import subprocess

from conftest import SRC, TOOLS
from llm_testkit import LLMServer

CHAT = os.path.join(TOOLS, "llm_chat")
FIX = os.path.join(SRC, "tests", "fixtures", "llm")
KEY = "sk-config-test-31337"

CONFIG = """
name: llmtest
suite: {suite}
output: {tmp}/out.h5
models: [openai/o3, scripted/demo, echo]
endpoints:
  srv: {{base_url: "http://127.0.0.1:${{LLM_TEST_PORT}}/v1", api_key_env: LLM_TEST_KEY,
        max_concurrency: 2, requests_per_minute: 600}}
  demo: {{provider: scripted, dir: {scripted}}}
model_defaults: {{endpoint: srv, temperature: 0.2, max_tokens: 100, request_timeout_s: 5}}
models_config: {{"openai/o3": {{temperature: null, max_tokens: null}}, "scripted/demo": {{endpoint: demo}}}}
prices: {{"openai/o3": {{input_per_mtok: 2, output_per_mtok: 8}}}}
retry: {{max_attempts: 2, base_s: 0.01, max_s: 0.05}}
"""


def chat(cfg, srv, *args):
    env = dict(os.environ, LLM_TEST_PORT=str(srv.port), LLM_TEST_KEY=KEY)
    p = subprocess.run([CHAT, "--config", cfg] + [str(a) for a in args], capture_output=True,
                       text=True, env=env, timeout=60)
    assert KEY not in p.stdout + p.stderr
    lines = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
    return lines, p.returncode, p.stderr


def test_config_drives_the_client(tmp_path):
    cfg = tmp_path / "config.yml"
    cfg.write_text(CONFIG.format(suite=os.path.join(FIX, "suite", "suite.yml"), tmp=tmp_path,
                                 scripted=os.path.join(FIX, "scripted")))
    with LLMServer(extra_args=["--echo-any"]) as srv:
        lines, rc, err = chat(cfg, srv, "--model", "openai/o3", "--count", 2)
        assert rc == 0, (err, lines)
        body = json.loads(srv.requests()[0]["body"])
        assert body["model"] == "openai/o3"
        assert "temperature" not in body and "max_tokens" not in body
        assert srv.requests()[0]["headers"]["Authorization"] == "Bearer " + KEY
        assert lines[-1]["summary"]["cost_usd"] == 2 * (11 * 2 + 7 * 8) / 1e6
        lines, rc, err = chat(cfg, srv, "--model", "echo")
        body = json.loads(srv.requests()[-1]["body"])
        assert body["temperature"] == 0.2 and body["max_tokens"] == 100
        assert lines[0]["cost_usd"] is None and "no price for model echo" in err
        # retry.max_attempts from the config
        srv.faults([{"fault": "status", "status": 503, "count": 5}])
        lines, rc, err = chat(cfg, srv, "--model", "echo")
        assert rc == 3 and lines[0]["attempts"] == 2
        srv.faults([])  # drop the three 503s left
        # the scripted endpoint answers without the server
        n = len(srv.requests())
        lines, rc, err = chat(cfg, srv, "--model", "scripted/demo", "--step", "create_numpy",
                              "--agent", "supervisor")
        assert rc == 0 and lines[0]["content"].startswith("Read every data file")
        assert len(srv.requests()) == n
        # model checks through the config
        lines, rc, _ = chat(cfg, srv, "--model", "openai/o3", "--check")
        assert lines[0] == {"check": True}  # GET /models is 404 here: a one-token request
        last = json.loads(srv.requests()[-1]["body"])
        assert last["model"] == "openai/o3" and last["max_tokens"] == 1
        n = len(srv.requests())
        lines, rc, _ = chat(cfg, srv, "--model", "scripted/demo", "--check")
        assert lines[0] == {"check": True} and len(srv.requests()) == n  # the file, not the server
