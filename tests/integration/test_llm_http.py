"""The LLM client (tests/tools/llm_chat over src/llm) against the loopback
fault-injecting server (tests/server/llm_server.py): every fault, the retry
counts and waits, final success for transient faults, precise errors for the
others, usage and cost sums, rate limits, the model check, and the API key
absent from every output, log line and recorded request body."""
import email.utils
import json
import os
import re
import subprocess
import time

import pytest

from conftest import SRC, TOOLS
from llm_testkit import LLMServer

CHAT = os.path.join(TOOLS, "llm_chat")
SCRIPTED = os.path.join(SRC, "tests", "fixtures", "llm", "scripted")
KEY = "sk-llm4hep-TEST-7f3a9c1e55d0b2"
KEY_ENV = "LLM4HEP_TEST_API_KEY"


def run_chat(srv, *args, env=None, timeout=60, key=True, base_url=None):
    """Run llm_chat against srv; returns (calls, summary, stderr, returncode)."""
    e = dict(os.environ)
    e.pop("http_proxy", None)
    e.pop("https_proxy", None)
    if key:
        e[KEY_ENV] = KEY
    e.update(env or {})
    cmd = [CHAT, "--base-url", base_url or srv.base_url, "--model", "echo"]
    if key:
        cmd += ["--api-key-env", KEY_ENV]
    cmd += [str(a) for a in args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e)
    assert KEY not in p.stdout and KEY not in p.stderr, "the API key leaked into the driver's output"
    lines = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    calls = [x for x in lines if "call" in x]
    summary = next((x["summary"] for x in lines if "summary" in x), None)
    return calls, summary, p.stderr, p.returncode


def log_fields(line):
    """attempt=2 status=429 latency_s=.. result=retry wait_s=1.000 [retry_after=..] reason=..."""
    head, _, reason = line.partition(" reason=")
    f = {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', head)}
    f["reason"] = reason
    return f


def assert_no_key_in_server_record(srv):
    for r in srv.requests():
        assert KEY not in r["body"], "the API key is in a request body"
        for k, v in r["headers"].items():
            if k.lower() != "authorization":
                assert KEY not in v, f"the API key is in header {k}"


@pytest.fixture
def srv():
    with LLMServer(scripted_dir=SCRIPTED) as s:
        yield s
        assert_no_key_in_server_record(s)


# ------------------------------------------------------------------ normal

def test_normal_answer_usage_cost_and_request(srv):
    calls, summary, err, rc = run_chat(srv, "--count", 3, "--price", "2.5,10", "--message", "hi there",
                                       "--temperature", "0", "--max-tokens", "256", "--seed", "42")
    assert rc == 0, err
    assert len(calls) == 3
    for c in calls:
        assert c["ok"] and c["content"] == "echo: hi there"
        assert c["http_status"] == 200 and c["attempts"] == 1
        assert c["prompt_tokens"] == 11 and c["completion_tokens"] == 7
        assert c["cost_usd"] == pytest.approx((11 * 2.5 + 7 * 10) / 1e6)
        assert c["finish_reason"] == "stop"
        assert len(c["attempt_log"]) == 1 and log_fields(c["attempt_log"][0])["result"] == "ok"
    assert summary["prompt_tokens"] == 33 and summary["completion_tokens"] == 21
    assert summary["cost_usd"] == pytest.approx(3 * (11 * 2.5 + 7 * 10) / 1e6)
    assert summary["spent_usd"] == pytest.approx(summary["cost_usd"])
    assert "warning" not in err
    reqs = srv.requests()
    assert len(reqs) == 3
    body = json.loads(reqs[0]["body"])
    assert body == {"model": "echo", "messages": [{"role": "user", "content": "hi there"}],
                    "temperature": 0, "max_tokens": 256, "seed": 42}
    assert reqs[0]["body"] == calls[0]["request_json"]  # recorded exactly as sent
    assert reqs[0]["headers"]["Authorization"] == "Bearer " + KEY
    assert reqs[0]["headers"]["Content-Type"] == "application/json"
    # one connection reused (keep-alive): the server saw one client port
    assert calls[0]["response_json"].startswith("{")


def test_null_options_are_omitted(srv):
    calls, _, err, rc = run_chat(srv, "--temperature", "null", "--max-tokens", "null")
    assert rc == 0, err
    body = json.loads(srv.requests()[0]["body"])
    assert "temperature" not in body and "max_tokens" not in body and "seed" not in body
    assert "tools" not in body and "tool_choice" not in body


def test_tool_calls_and_offered_tools(srv):
    srv.faults([{"fault": "tool_calls", "tool_calls": [
        {"name": "evaluate_boundaries", "arguments": '{"boundaries": [0.4, 0.7]}'},
        {"id": "call_x", "name": "evaluate_boundaries", "arguments": '{"boundaries": [0.3'}]}])
    schema = '{"type":"object","properties":{"boundaries":{"type":"array","items":{"type":"number"}}}}'
    calls, _, err, rc = run_chat(srv, "--tool", "evaluate_boundaries=" + schema)
    assert rc == 0, err
    c = calls[0]
    assert c["content"] is None and c["finish_reason"] == "tool_calls"
    assert [t["name"] for t in c["tool_calls"]] == ["evaluate_boundaries"] * 2
    assert c["tool_calls"][0]["arguments"] == '{"boundaries": [0.4, 0.7]}'
    assert c["tool_calls"][1]["arguments"] == '{"boundaries": [0.3'  # malformed, kept as sent
    assert c["tool_calls"][1]["id"] == "call_x"
    body = json.loads(srv.requests()[0]["body"])
    assert body["tool_choice"] == "auto"
    assert body["tools"] == [{"type": "function", "function": {
        "name": "evaluate_boundaries", "description": "a test tool", "parameters": json.loads(schema)}}]


def test_reasoning_content_and_usage_details(srv):
    srv.faults([{"fault": "normal", "content": "42", "reasoning_content": "let me think",
                 "finish_reason": "length",
                 "usage": {"prompt_tokens": 1000, "completion_tokens": 500,
                           "cached_tokens": 800, "reasoning_tokens": 300}}])
    calls, summary, err, rc = run_chat(srv, "--price", "1,4")
    assert rc == 0, err
    c = calls[0]
    assert c["content"] == "42" and c["reasoning"] == "let me think"
    assert c["finish_reason"] == "length"
    assert (c["prompt_tokens"], c["completion_tokens"], c["cached_tokens"], c["reasoning_tokens"]) == \
        (1000, 500, 800, 300)
    assert c["cost_usd"] == pytest.approx((1000 * 1 + 500 * 4) / 1e6)  # cached at the input price
    # with a cached-input price the 800 cached tokens cost it
    srv.faults([{"fault": "normal", "usage": {"prompt_tokens": 1000, "completion_tokens": 500,
                                              "cached_tokens": 800, "reasoning_tokens": 300}}])
    calls, summary, err, rc = run_chat(srv, "--price", "1,4,0.25")
    assert rc == 0, err
    assert calls[0]["cost_usd"] == pytest.approx((200 * 1 + 800 * 0.25 + 500 * 4) / 1e6)
    # an endpoint claiming more cached tokens than the prompt: never a negative price
    srv.faults([{"fault": "normal", "usage": {"prompt_tokens": 100, "completion_tokens": 10,
                                              "cached_tokens": 5000}}])
    calls, summary, err, rc = run_chat(srv, "--price", "1,4,0.25")
    assert rc == 0, err
    assert calls[0]["cost_usd"] == pytest.approx((100 * 0.25 + 10 * 4) / 1e6)


def test_unknown_price_is_nan_with_one_warning(srv):
    calls, summary, err, rc = run_chat(srv, "--count", 3)
    assert rc == 0
    assert all(c["cost_usd"] is None for c in calls)  # NaN
    assert summary["cost_usd"] is None
    assert err.count("no price for model echo") == 1, err


def test_position_headers(srv):
    calls, _, err, rc = run_chat(srv, "--step", "create_numpy", "--agent", "coder", "--trial", 2,
                                 "--call", 3)
    assert rc == 0, err
    h = srv.requests()[0]["headers"]
    assert (h["X-LLM4HEP-Step"], h["X-LLM4HEP-Agent"], h["X-LLM4HEP-Trial"], h["X-LLM4HEP-Call"]) == \
        ("create_numpy", "coder", "2", "3")
    # without a position the headers are not sent
    run_chat(srv)
    assert not any(k.startswith("X-LLM4HEP") for k in srv.requests()[1]["headers"])


# ------------------------------------------------------------ transient faults

def test_429_retry_after_seconds(srv):
    srv.faults([{"fault": "status", "status": 429, "retry_after": 1}])
    t0 = time.monotonic()
    calls, summary, err, rc = run_chat(srv, "--max-attempts", 4)
    wall = time.monotonic() - t0
    assert rc == 0, err
    c = calls[0]
    assert c["attempts"] == 2 and c["http_status"] == 200
    first = log_fields(c["attempt_log"][0])
    assert first["status"] == "429" and first["result"] == "retry"
    assert float(first["wait_s"]) == 1.0 and first["retry_after"] == "1"
    assert "HTTP 429" in first["reason"]
    assert wall >= 1.0
    reqs = srv.requests()
    assert len(reqs) == 2 and reqs[1]["time"] - reqs[0]["time"] >= 1.0
    assert summary["throttled"] == 1  # the permits saw the 429 (AIMD)


def test_429_retry_after_http_date(srv):
    srv.faults([{"fault": "status", "status": 429, "retry_after_date": 2}])
    calls, _, err, rc = run_chat(srv, "--max-attempts", 3, "--max-s", 5)  # the cap of any wait
    assert rc == 0, err
    first = log_fields(calls[0]["attempt_log"][0])
    # the date has whole-second resolution: the wait is in (1, 2]
    assert 1.0 < float(first["wait_s"]) <= 2.0
    assert email.utils.parsedate_to_datetime(first["retry_after"]) is not None
    reqs = srv.requests()
    assert reqs[1]["time"] - reqs[0]["time"] >= 1.0


def test_429_retry_after_ms_is_preferred(srv):
    srv.faults([{"fault": "status", "status": 429, "retry_after": 30, "retry_after_ms": 250}])
    calls, _, err, rc = run_chat(srv, "--max-attempts", 3)
    assert rc == 0, err
    reqs = srv.requests()  # the retry followed the 250 ms, not the 30 s
    assert reqs[1]["time"] - reqs[0]["time"] < 5
    first = log_fields(calls[0]["attempt_log"][0])
    assert float(first["wait_s"]) == 0.25 and first["retry_after"] == "250 ms"


def test_fault_plan_file(tmp_path):
    plan = tmp_path / "plan.yml"
    plan.write_text("faults:\n  - {fault: status, status: 503, count: 2}\n"
                    "default: {fault: normal, content: from the plan}\n")
    with LLMServer(faults_file=str(plan)) as s:
        calls, _, err, rc = run_chat(s, "--max-attempts", 4, "--base-s", "0.01")
        assert rc == 0, err
        assert calls[0]["attempts"] == 3 and calls[0]["content"] == "from the plan"
        assert [r["fault"] for r in s.requests()] == ["status", "status", "normal"]


@pytest.mark.parametrize("status,body", [(500, "json"), (502, "html"), (503, "text"), (504, "json"),
                                         (408, "json"), (409, "json")])
def test_retryable_statuses_then_success(srv, status, body):
    srv.faults([{"fault": "status", "status": status, "body": body, "count": 2}])
    calls, _, err, rc = run_chat(srv, "--max-attempts", 5, "--base-s", "0.05", "--max-s", "0.2")
    assert rc == 0, err
    c = calls[0]
    assert c["attempts"] == 3 and c["content"] == "echo: Say hello."
    for i in (0, 1):
        f = log_fields(c["attempt_log"][i])
        assert f["status"] == str(status) and f["result"] == "retry"
        assert 0 <= float(f["wait_s"]) <= 0.05 * 2 ** i + 0.0005  # logged to 3 decimals
        assert f"HTTP {status}" in f["reason"]
    if body == "html":
        assert "502 Bad Gateway" in log_fields(c["attempt_log"][0])["reason"]
    assert len(srv.requests()) == 3


def test_backoff_waits_are_full_jitter_and_observed(srv):
    srv.faults([{"fault": "status", "status": 500, "count": 4}])
    calls, _, err, rc = run_chat(srv, "--max-attempts", 5, "--base-s", "0.1", "--max-s", "0.3")
    assert rc == 0, err
    log = [log_fields(x) for x in calls[0]["attempt_log"]]
    waits = [float(f["wait_s"]) for f in log[:4]]
    for i, w in enumerate(waits):
        assert 0 <= w <= min(0.3, 0.1 * 2 ** i) + 0.0005  # logged to 3 decimals
    times = [r["time"] for r in srv.requests()]
    for i in range(4):  # the server saw the gaps the client logged
        assert times[i + 1] - times[i] >= waits[i] - 0.005


def test_retries_exhausted(srv):
    srv.faults([{"fault": "status", "status": 503, "count": 10}])
    calls, summary, err, rc = run_chat(srv, "--max-attempts", 3, "--base-s", "0.01", "--max-s", "0.02")
    assert rc == 3
    c = calls[0]
    assert not c["ok"] and c["attempts"] == 3 and c["http_status"] == 503
    assert "gave up after 3 attempts" in c["error"] and "HTTP 503" in c["error"]
    assert "endpoint test" in c["error"] and "model echo" in c["error"]
    assert [log_fields(x)["result"] for x in c["attempt_log"]] == ["retry", "retry", "fail"]
    assert len(srv.requests()) == 3
    assert summary["failed"] == 1


def test_hang_past_the_timeout_then_success(srv):
    srv.faults([{"fault": "hang", "seconds": 4}])
    calls, _, err, rc = run_chat(srv, "--timeout", "1", "--max-attempts", 3)
    assert rc == 0, err
    # the retry came after the 1 s timeout, not after the 4 s hang: measured
    # where the requests arrive (a busy machine's process start-up is not in it)
    reqs = srv.requests()
    assert reqs[1]["time"] - reqs[0]["time"] < 3.5
    f = log_fields(calls[0]["attempt_log"][0])
    assert f["status"] == "0" and f["result"] == "retry" and "timeout" in f["reason"]
    assert 0.9 <= float(f["latency_s"]) < 2.0
    assert calls[0]["attempts"] == 2


def test_connection_reset_then_success(srv):
    srv.faults([{"fault": "reset"}])
    calls, _, err, rc = run_chat(srv, "--max-attempts", 3)
    assert rc == 0, err
    f = log_fields(calls[0]["attempt_log"][0])
    assert f["status"] == "0" and "connection error" in f["reason"] and "reset" in f["reason"].lower()
    assert calls[0]["attempts"] == 2


def test_connection_refused_is_retried_then_fails(srv):
    calls, _, err, rc = run_chat(srv, "--max-attempts", 2, "--base-s", "0.01",
                                 base_url="http://127.0.0.1:1/v1")
    assert rc == 3
    assert calls[0]["attempts"] == 2
    assert "connection error" in calls[0]["error"] and "gave up after 2 attempts" in calls[0]["error"]


@pytest.mark.parametrize("fault", ["truncated", "truncated_json", "empty"])
def test_truncated_bodies_are_retried(srv, fault):
    srv.faults([{"fault": fault}])
    calls, _, err, rc = run_chat(srv, "--max-attempts", 3)
    assert rc == 0, err
    f = log_fields(calls[0]["attempt_log"][0])
    assert f["result"] == "retry"
    if fault == "truncated":
        assert "connection error" in f["reason"] and "remaining" in f["reason"]
    else:
        assert "truncated JSON body" in f["reason"]
    assert calls[0]["attempts"] == 2 and calls[0]["content"] == "echo: Say hello."


def test_slow_drip_within_the_timeout(srv):
    srv.faults([{"fault": "drip", "interval": 0.02, "chunk": 32}])
    calls, _, err, rc = run_chat(srv, "--timeout", "5")
    assert rc == 0, err
    assert calls[0]["attempts"] == 1 and calls[0]["content"] == "echo: Say hello."
    assert calls[0]["latency_s"] >= 0.1


def test_slow_drip_past_the_timeout_is_retried(srv):
    srv.faults([{"fault": "drip", "interval": 0.5, "chunk": 8}])
    calls, _, err, rc = run_chat(srv, "--timeout", "1", "--max-attempts", 2)
    assert rc == 0, err
    f = log_fields(calls[0]["attempt_log"][0])
    assert "timeout" in f["reason"] and f["result"] == "retry"


# -------------------------------------------------------------- final errors

def test_malformed_json_is_a_precise_error(srv):
    srv.faults([{"fault": "malformed", "body": "<html>Upstream says hello</html>"}])
    calls, _, err, rc = run_chat(srv, "--max-attempts", 5)
    assert rc == 3
    c = calls[0]
    assert c["attempts"] == 1
    assert "not JSON" in c["error"] and "<html>Upstream says hello</html>" in c["error"]
    assert len(srv.requests()) == 1


@pytest.mark.parametrize("status,code,message", [
    (400, "400", "Invalid model name passed in model=echo"),
    (401, "401", "Authentication Error, invalid key"),
    (403, "403", "Team not allowed to access model"),
    (404, "model_not_found", "The model does not exist"),
])
def test_client_errors_fail_fast_with_the_server_message(srv, status, code, message):
    srv.faults([{"fault": "error_body", "status": status, "code": code, "message": message,
                 "count": 3}])
    calls, _, err, rc = run_chat(srv, "--max-attempts", 5)
    assert rc == 3
    c = calls[0]
    assert c["attempts"] == 1 and c["http_status"] == status
    assert f"HTTP {status}" in c["error"] and message in c["error"] and f"code {code}" in c["error"]
    assert len(srv.requests()) == 1


def test_error_body_in_a_200(srv):
    srv.faults([{"fault": "status", "status": 200, "body": '{"error": {"message": "upstream broke", "code": "500"}}'}])
    calls, _, err, rc = run_chat(srv)
    assert rc == 3 and "upstream broke" in calls[0]["error"]


def test_callers_deadline(srv):
    srv.faults([{"fault": "hang", "seconds": 5}])
    calls, _, err, rc = run_chat(srv, "--timeout", "30", "--deadline", "0.8", "--max-attempts", 5)
    assert rc == 3
    assert calls[0]["latency_s"] < 3  # the call's own clock: start-up is not in it
    assert "deadline" in calls[0]["error"]


def test_wrong_key_is_refused_and_never_echoed():
    with LLMServer(api_key="sk-the-right-one") as s:
        calls, _, err, rc = run_chat(s, "--max-attempts", 4)
        assert rc == 3
        assert calls[0]["attempts"] == 1 and calls[0]["http_status"] == 401
        assert "Authentication Error" in calls[0]["error"]
        assert_no_key_in_server_record(s)
        # the right key passes
        calls, _, err, rc = run_chat(s, env={KEY_ENV: "sk-the-right-one"})
        assert rc == 0


def test_missing_key_variable_is_a_config_error(srv):
    calls, _, err, rc = run_chat(srv, "--api-key-env", "LLM4HEP_NO_SUCH_VAR")
    assert rc == 3
    assert calls[0]["error_code"] == 2
    assert "LLM4HEP_NO_SUCH_VAR is not set" in calls[0]["error"]
    assert srv.requests() == []


def test_key_is_redacted_from_debug_output_and_error_bodies(srv):
    # a server that echoes the key in an error body: it must not reach our texts
    srv.faults([{"fault": "error_body", "status": 400, "message": f"bad key {KEY} for you"}])
    calls, _, err, rc = run_chat(srv, env={"LLM4HEP_HTTP_DEBUG": "1"})
    assert rc == 3
    assert "Authorization: Bearer ***" in err
    assert f"bad key [redacted:{KEY_ENV}] for you" in calls[0]["error"]
    assert f"[redacted:{KEY_ENV}]" in calls[0]["response_json"]
    assert all(KEY not in line for line in calls[0]["attempt_log"])


def test_an_answer_echoing_the_key_is_refused_not_altered(srv):
    # an answer is recorded and run as received, so one holding the key
    # cannot be kept: the call fails as the endpoint's fault, naming the variable
    srv.faults([{"fault": "normal", "content": f"x = 1  # your key is {KEY}"}])
    calls, _, err, rc = run_chat(srv)
    assert rc == 3
    c = calls[0]
    assert not c["ok"] and c["error_code"] == 3
    assert f"holds the value of ${KEY_ENV}" in c["error"] and "refused" in c["error"]
    assert KEY not in json.dumps(c)
    assert not c.get("content")


@pytest.mark.parametrize("key", ["EMPTY", "x", "dummy", "*"])
def test_placeholder_key_leaves_the_answer_exactly_as_sent(key):
    # local servers take any key; a placeholder is never looked for in text
    text = "x_max = 3 * 2  # EMPTY dummy x*x **kw"
    with LLMServer(api_key=key) as s:
        calls, _, err, rc = run_chat(s, "--message", text, "--max-attempts", 1, timeout=30,
                                     env={KEY_ENV: key})
        assert rc == 0, err
        assert calls[0]["content"] == "echo: " + text
        assert json.loads(calls[0]["response_json"])["choices"][0]["message"]["content"] == \
            "echo: " + text
        assert "[redacted" not in json.dumps(calls[0])


def test_proxy_environment_is_honoured(srv):
    # a proxy that refuses connections: the request fails through it ...
    calls, _, err, rc = run_chat(srv, "--max-attempts", 1, env={"http_proxy": "http://127.0.0.1:1"})
    assert rc == 3 and "127.0.0.1 port 1" in calls[0]["error"]
    assert srv.requests() == []
    # ... unless no_proxy exempts the host
    calls, _, err, rc = run_chat(srv, env={"http_proxy": "http://127.0.0.1:1", "no_proxy": "127.0.0.1"})
    assert rc == 0, err


# ------------------------------------------------------------ rate limiting

def test_server_rate_limit_429s_are_absorbed():
    with LLMServer(rate_limit=120, burst=1, rate_retry_after="fraction") as s:
        calls, summary, err, rc = run_chat(s, "--count", 4, "--max-attempts", 6, "--base-s", "0.05")
        assert rc == 0, err
        assert summary["ok"] == 4 and summary["failed"] == 0
        assert s.stats()["rate_limited"] >= 1
        assert summary["throttled"] == s.stats()["rate_limited"]
        retried = [log_fields(x) for c in calls for x in c["attempt_log"] if "status=429" in x]
        assert retried and all("retry_after" in f for f in retried)


def test_client_rpm_paces_requests_without_429s():
    # The pacing is the client's: it hands a request to the network one slot
    # (60/240 s) after the last, by its own clock (sent_utc in the attempt
    # log). The server's arrival times carry the machine's scheduling jitter,
    # so they are not the measure; its bucket of 3 absorbs that jitter and
    # would still refuse an unpaced burst of 6.
    with LLMServer(rate_limit=240, burst=3) as s:
        calls, summary, err, rc = run_chat(s, "--count", 6, "--threads", 3, "--rpm", 240)
        assert rc == 0, err
        assert s.stats()["rate_limited"] == 0
        sent = sorted(float(log_fields(x)["sent_utc"]) for c in calls for x in c["attempt_log"])
        assert len(sent) == 6
        gaps = [b - a for a, b in zip(sent, sent[1:])]
        assert min(gaps) >= 0.25 - 0.01, gaps  # one slot every 60/240 s
        assert len(s.requests()) == 6


def test_unpaced_burst_is_refused_by_a_bucket_of_3():
    # the control for the test above: a bucket of 3 refuses an unpaced burst
    # of 6 (a slow refill, so the machine's load cannot spread the burst out)
    with LLMServer(rate_limit=6, burst=3) as s:
        calls, summary, err, rc = run_chat(s, "--count", 6, "--threads", 6, "--max-attempts", 1)
        assert s.stats()["rate_limited"] >= 2
        assert summary["failed"] == s.stats()["rate_limited"]


def test_max_concurrency_is_respected():
    with LLMServer(latency="fixed:0.3") as s:
        calls, summary, err, rc = run_chat(s, "--count", 6, "--threads", 4, "--max-concurrency", 2)
        assert rc == 0, err
        assert s.stats()["max_in_flight"] == 2


def test_latency_distribution_is_applied():
    with LLMServer(latency="uniform:0.1,0.2", seed=3) as s:
        calls, summary, err, rc = run_chat(s, "--count", 3)
        assert rc == 0
        assert all(0.1 <= c["latency_s"] < 1.0 for c in calls)


# -------------------------------------------------------------- model check

def test_model_check(srv):
    def check(model, base_url=None):
        e = dict(os.environ, **{KEY_ENV: KEY})
        p = subprocess.run([CHAT, "--base-url", base_url or srv.base_url, "--api-key-env", KEY_ENV,
                            "--model", model, "--check"], capture_output=True, text=True, env=e,
                           timeout=60)
        assert KEY not in p.stdout + p.stderr
        return json.loads(p.stdout), p.returncode

    assert check("echo") == ({"check": True}, 0)
    assert check("scripted/demo") == ({"check": True}, 0)
    out, rc = check("openai/gpt-99")
    assert rc == 3 and "does not serve model openai/gpt-99" in out["error"] and "echo" in out["error"]
    # no usable /models: one-token request instead
    srv.faults([{"fault": "error_body", "status": 404, "message": "no such route", "path": "models"}])
    assert check("echo") == ({"check": True}, 0)
    last = srv.requests()[-1]
    assert last["path"].endswith("/chat/completions") and json.loads(last["body"])["max_tokens"] == 1
    out, rc = check("echo", base_url="http://127.0.0.1:1/v1")
    assert rc == 3 and "does not answer" in out["error"]


# ----------------------------------------------------- scripted over HTTP

def test_one_script_drives_both_paths(srv):
    """The server answers a scripted model by the X-LLM4HEP-* position exactly
    as the local scripted backend does."""
    for step, agent, trial, call in [("create_numpy", "coder", 1, 0), ("create_numpy", "coder", 1, 1),
                                     ("create_numpy", "coder", 2, 0), ("categorization", "coder", 1, 1),
                                     ("create_numpy", "supervisor", 1, 7)]:
        pos = ["--step", step, "--agent", agent, "--trial", trial, "--call", call]
        h, _, err, rc = run_chat(srv, "--model", "scripted/demo", *pos)
        assert rc == 0, err
        p = subprocess.run([CHAT, "--scripted-dir", SCRIPTED, "--model", "scripted/demo"] +
                           [str(x) for x in pos], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        local = json.loads(p.stdout.splitlines()[0])
        for k in ("content", "tool_calls", "finish_reason", "prompt_tokens", "completion_tokens"):
            assert h[0][k] == local[k], (step, agent, trial, call, k)
        assert h[0]["request_json"] == local["request_json"]


def test_scripted_over_http_unknown_step_is_a_clear_error(srv):
    calls, _, err, rc = run_chat(srv, "--model", "scripted/demo", "--step", "nope", "--agent", "coder")
    assert rc == 3
    assert "no answers for step `nope`" in calls[0]["error"] and calls[0]["attempts"] == 1
