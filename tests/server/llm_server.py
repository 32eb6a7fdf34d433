#!/usr/bin/python3
"""llm_server.py — a loopback OpenAI-compatible chat server for llm4hep tests.

Serves DESIGN.md's scripted models (one YAML file per model in --scripted-dir,
chosen by the part of the model name after its last '/'), a built-in `echo`
model, and injects faults per request. It records every request it receives
(headers and bodies) so that tests can assert on them. Standard library +
PyYAML; run with /usr/bin/python3. Binds 127.0.0.1 only. See README.md beside
this file for the full CLI, the admin endpoints and the fault vocabulary.

    /usr/bin/python3 tests/server/llm_server.py [--port 0] [--scripted-dir DIR]
        [--faults FILE] [--latency SPEC] [--rate-limit RPM] [--burst N]
        [--api-key KEY] [--port-file FILE] [--seed N] [--log FILE]

The first line on stdout is the port number.
"""
import argparse
import email.utils
import json
import math
import os
import random
import re
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    import yaml
except ImportError:  # the scripted models need it; echo and faults do not
    yaml = None

FAULT_KINDS = {
    "normal", "tool_calls", "status", "error_body", "hang", "reset", "malformed",
    "truncated", "truncated_json", "drip", "empty",
}


class ServerState:
    """Everything the handler threads share, behind one lock."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.scripted_dir = args.scripted_dir
        self.api_key = args.api_key or (os.environ.get(args.api_key_env) if args.api_key_env else None)
        self.faults = []            # queue of fault dicts (each with a remaining "count")
        self.default_fault = None   # applied when the queue is empty
        self.requests = []          # the record
        self.seq = 0
        self.latency = parse_latency(args.latency)
        self.rng = random.Random(args.seed)
        self.seed = args.seed
        self.per_request = args.latency_per_request or args.latency_per_group is not None
        self.group_noise = args.latency_per_group
        self.rate_rpm = args.rate_limit
        self.burst = args.burst
        self.tokens = float(args.burst)
        self.last_refill = time.monotonic()
        self.rate_retry_after = args.rate_retry_after
        self.in_flight = 0
        self.max_in_flight = 0
        self.rate_limited = 0
        self.call_counters = {}     # (model, step, agent, trial) -> next call index
        self.scripts = {}           # file path -> (mtime, parsed)
        self.echo_usage = tuple(int(x) for x in args.echo_usage.split(","))
        self.echo_any = args.echo_any
        # what a real server refuses (0 / None = nothing)
        self.context_tokens = args.context_tokens
        self.max_request_bytes = args.max_request_bytes
        self.refuse_marker = args.refuse_marker
        self.strict_text = args.strict_text
        # current chat APIs: OpenAI's reasoning models and the versions served
        self.reasoning_models = re.compile(args.reasoning_models) if args.reasoning_models else None
        self.reasoning_tokens = args.reasoning_tokens
        self.cached_tokens = args.cached_tokens
        self.served = {}            # alias -> [(served model, fingerprint or None)], cycled per request
        for spec in args.served_model or []:
            alias, _, versions = spec.partition("=")
            self.served[alias] = [(v.partition("@")[0], v.partition("@")[2] or None)
                                  for v in versions.split(",") if v]
        self.served_next = {}
        self.model_id_header = args.model_id_header

    def is_reasoning(self, model):
        return bool(self.reasoning_models and self.reasoning_models.fullmatch(model))

    def served_version(self, model):
        """(served model name, system_fingerprint or None) of the next answer for model."""
        with self.lock:
            versions = self.served.get(model)
            if not versions:
                return model, None
            i = self.served_next.get(model, 0)
            self.served_next[model] = i + 1
            return versions[i % len(versions)]

    def set_faults(self, faults, append=False):
        checked = [check_fault(f) for f in faults]
        with self.lock:
            if not append:
                self.faults = []
            self.faults.extend(checked)

    def next_fault(self, path):
        """Pop the next fault that applies to this path ("chat" or "models")."""
        with self.lock:
            for i, f in enumerate(self.faults):
                if f.get("path", "chat") == path:
                    f["count"] -= 1
                    if f["count"] <= 0:
                        self.faults.pop(i)
                    return dict(f)
            if self.default_fault and self.default_fault.get("path", "chat") == path:
                return dict(self.default_fault)
        return None

    def take_rate_token(self):
        """Token bucket: None when admitted, else seconds until a token."""
        if not self.rate_rpm:
            return None
        with self.lock:
            now = time.monotonic()
            rate = self.rate_rpm / 60.0
            self.tokens = min(float(self.burst), self.tokens + (now - self.last_refill) * rate)
            self.last_refill = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return None
            self.rate_limited += 1
            return (1.0 - self.tokens) / rate

    def draw_latency(self, key=None, group=None):
        """One latency draw: from the server's sequence, or with
        --latency-per-request from a generator seeded by the seed and key (the
        request's model and position), so two runs of the same campaign see the
        same latency for the same request whatever order requests arrive in.
        With --latency-per-group NOISE the draw is made once per group (model
        and step) and each request gets it times a lognormal(0, NOISE) factor
        of its own: a campaign can learn how long a model takes on a step."""
        if self.group_noise is not None and group is not None:
            base = self._draw(group)
            with self.lock:
                return base * random.Random(f"{self.seed}|{key}").lognormvariate(0.0, self.group_noise)
        return self._draw(key)

    def _draw(self, key):
        kind, params = self.latency
        with self.lock:
            r = random.Random(f"{self.seed}|{key}") if self.per_request and key else self.rng
            if kind == "none":
                return 0.0
            if kind == "fixed":
                return params[0]
            if kind == "uniform":
                return r.uniform(params[0], params[1])
            if kind == "exp":
                return r.expovariate(1.0 / params[0])
            if kind == "normal":
                return max(0.0, r.gauss(params[0], params[1]))
            if kind == "lognormal":
                return r.lognormvariate(params[0], params[1])
        return 0.0

    def record(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.requests.append(entry)
            return entry

    def reset(self):
        with self.lock:
            self.faults = []
            self.default_fault = None
            self.requests = []
            self.call_counters = {}
            self.tokens = float(self.burst)
            self.last_refill = time.monotonic()
            self.max_in_flight = 0
            self.rate_limited = 0


def parse_latency(spec):
    """'fixed:0.01', 'uniform:a,b', 'exp:mean', 'normal:mean,sd', 'lognormal:mu,sigma'."""
    if not spec or spec == "none":
        return ("none", [])
    kind, _, rest = spec.partition(":")
    params = [float(x) for x in rest.split(",")] if rest else []
    need = {"fixed": 1, "uniform": 2, "exp": 1, "normal": 2, "lognormal": 2}
    if kind not in need or len(params) != need[kind]:
        raise SystemExit(f"llm_server: --latency {spec!r}: expected fixed:S, uniform:A,B, exp:MEAN, "
                         "normal:MEAN,SD or lognormal:MU,SIGMA")
    return (kind, params)


def check_fault(f):
    if not isinstance(f, dict):
        raise ValueError(f"a fault is a mapping, got {f!r}")
    kind = f.get("fault")
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault {kind!r}; expected one of {sorted(FAULT_KINDS)}")
    out = dict(f)
    out["count"] = int(f.get("count", 1))
    return out


# ----------------------------------------------------------------- scripted

class ScriptError(Exception):
    def __init__(self, status, message, code):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def load_script(state, path):
    mtime = os.stat(path).st_mtime
    with state.lock:
        hit = state.scripts.get(path)
        if hit and hit[0] == mtime:
            return hit[1]
    if yaml is None:
        raise ScriptError(500, "PyYAML is not installed; scripted models need it", "server_error")
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict) or not isinstance(data.get("steps"), dict):
        raise ScriptError(500, f"{path}: a scripted model is a mapping with steps:", "server_error")
    with state.lock:
        state.scripts[path] = (mtime, data)
    return data


def script_path(state, model):
    if not state.scripted_dir:
        return None
    base = model.rsplit("/", 1)[-1]
    for ext in (".yml", ".yaml"):
        p = os.path.join(state.scripted_dir, base + ext)
        if os.path.exists(p):
            return p
    return None


def scripted_answer(state, path, model, headers):
    """(content, tool_calls, usage) for the position the X-LLM4HEP-* headers give."""
    data = load_script(state, path)
    step = headers.get("X-LLM4HEP-Step")
    agent = headers.get("X-LLM4HEP-Agent")
    if not step or not agent:
        raise ScriptError(400, f"scripted model {model}: send X-LLM4HEP-Step and X-LLM4HEP-Agent "
                          "headers (scripted models answer by position)", "missing_position")
    trial = str(headers.get("X-LLM4HEP-Trial") or "1")
    call_h = headers.get("X-LLM4HEP-Call")
    if call_h is not None and call_h != "":
        call = int(call_h)
    else:
        key = (model, step, agent, trial)
        with state.lock:
            call = state.call_counters.get(key, 0)
            state.call_counters[key] = call + 1
    trials = {str(k): v for k, v in (data.get("trials") or {}).items()}
    lst = ((trials.get(trial) or {}).get(step) or {}).get(agent)
    if lst is None:
        steps = data["steps"]
        if step not in steps:
            raise ScriptError(400, f"{path}: no answers for step `{step}` (the script has: "
                              f"{', '.join(steps) or 'no steps'})", "unknown_step")
        if not isinstance(steps[step], dict) or agent not in steps[step]:
            raise ScriptError(400, f"{path}: step `{step}` has no answers for agent `{agent}`",
                              "unknown_agent")
        lst = steps[step][agent]
    if not isinstance(lst, list):
        lst = [lst]
    if not lst:
        raise ScriptError(400, f"{path}: step {step}, {agent}: the answer list is empty", "empty")
    ans = lst[min(max(call, 0), len(lst) - 1)]
    usage = dict(data.get("usage") or {})
    if isinstance(ans, dict) and isinstance(ans.get("usage"), dict):
        usage.update(ans["usage"])
    if isinstance(ans, str):
        return ans, [], usage
    content = ""
    if isinstance(ans.get("text"), str):
        content += ans["text"]
    if isinstance(ans.get("code_file"), str):
        cpath = os.path.join(os.path.dirname(path), ans["code_file"])
        with open(cpath, encoding="utf-8") as fh:
            code = fh.read()
        if content:
            content += "\n\n"
        content += "```python\n" + code + ("" if code.endswith("\n") else "\n") + "```"
    calls = []
    for i, c in enumerate(ans.get("tool_calls") or []):
        args = c.get("arguments", {})
        if not isinstance(args, str):
            args = json.dumps(args, separators=(",", ":"))
        calls.append({"id": f"call_{agent}_{call}_{i}", "name": c.get("name", ""), "arguments": args})
    return (content if content else None), calls, usage


def completion_body(model, content, tool_calls, usage, finish_reason=None, reasoning=None):
    msg = {"role": "assistant", "content": content}
    if reasoning is not None:
        msg["reasoning_content"] = reasoning
    if tool_calls:
        msg["tool_calls"] = [{"id": c["id"], "type": "function",
                              "function": {"name": c["name"], "arguments": c["arguments"]}}
                             for c in tool_calls]
    pt = int(usage.get("prompt_tokens", 0))
    ct = int(usage.get("completion_tokens", 0))
    u = {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct}
    if "cached_tokens" in usage:
        u["prompt_tokens_details"] = {"cached_tokens": int(usage["cached_tokens"])}
    if "reasoning_tokens" in usage:
        u["completion_tokens_details"] = {"reasoning_tokens": int(usage["reasoning_tokens"])}
    return {
        "id": "chatcmpl-llm4hep-test", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": msg,
                     "finish_reason": finish_reason or ("tool_calls" if tool_calls else "stop")}],
        "usage": u,
    }


def error_body(message, code, etype="invalid_request_error"):
    # LiteLLM sends code as a string
    return {"error": {"message": message, "type": etype, "param": None, "code": str(code)}}


HTML_413 = (b"<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
            b"<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n"
            b"</body>\r\n</html>\r\n")


def request_texts(req):
    """Every text of a chat request the model would read: contents, tool-call
    names and arguments, tool call ids."""
    for m in req.get("messages") or []:
        if not isinstance(m, dict):
            continue
        c = m.get("content")
        if isinstance(c, str):
            yield c
        elif isinstance(c, list):
            for part in c:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    yield part["text"]
        for tc in m.get("tool_calls") or []:
            fn = tc.get("function") or {}
            for v in (tc.get("id"), fn.get("name"), fn.get("arguments")):
                if isinstance(v, str):
                    yield v
        if isinstance(m.get("tool_call_id"), str):
            yield m["tool_call_id"]


def request_tokens(req):
    """Tokens as the worst byte-level tokenizer counts them: one per UTF-8
    byte of every text, 4 per message, plus the completion's max_tokens."""
    n = 0
    for t in request_texts(req):
        n += len(t.encode("utf-8", "surrogatepass"))
    n += 4 * len(req.get("messages") or [])
    mt = req.get("max_tokens", req.get("max_completion_tokens"))
    return n, (mt if isinstance(mt, int) else 0)


def refuse(st, req):
    """(status, body) when a real server would refuse this request, else None:
    text a strict server rejects (lone surrogates, control characters but tab,
    LF and CR), the refuse marker (a content filter, as Azure words it), more
    tokens than the context (as OpenAI words it)."""
    texts = list(request_texts(req))
    if st.strict_text:
        for t in texts:
            for ch in t:
                o = ord(ch)
                if 0xD800 <= o <= 0xDFFF or (o < 0x20 and ch not in "\t\n\r") or 0x7F <= o <= 0x9F:
                    return 400, error_body(f"Invalid request: messages hold the character U+{o:04X}, "
                                           "which this server does not accept", "invalid_request_error")
    if st.refuse_marker and any(st.refuse_marker in t for t in texts):
        return 400, {"error": {"message": "The response was filtered due to the prompt triggering "
                               "Azure OpenAI's content management policy.", "type": None,
                               "param": "prompt", "code": "content_filter", "status": 400}}
    model = req.get("model") if isinstance(req.get("model"), str) else ""
    if st.is_reasoning(model) and "max_tokens" in req:  # OpenAI's words for o1/o3/gpt-5
        return 400, {"error": {"message": "Unsupported parameter: 'max_tokens' is not supported with "
                               "this model. Use 'max_completion_tokens' instead.",
                               "type": "invalid_request_error", "param": "max_tokens",
                               "code": "unsupported_parameter"}}
    if not st.is_reasoning(model) and "reasoning_effort" in req:
        return 400, {"error": {"message": "Unrecognized request argument supplied: reasoning_effort",
                               "type": "invalid_request_error", "param": None, "code": None}}
    if st.context_tokens:
        prompt, completion = request_tokens(req)
        if prompt + completion > st.context_tokens:
            return 400, error_body(
                f"This model's maximum context length is {st.context_tokens} tokens. However, you "
                f"requested {prompt + completion} tokens ({prompt} in the messages, {completion} in "
                "the completion). Please reduce the length of the messages or completion.",
                "context_length_exceeded")
    return None


HTML_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
            b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
            b"</body>\r\n</html>\r\n")


# ----------------------------------------------------------------- handler

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in separate writes
    server_version = "llm4hep-test-server/1"
    state = None  # set by main

    def log_message(self, fmt, *args):
        if self.server.log_fh:
            self.server.log_fh.write("%s %s\n" % (self.address_string(), fmt % args))
            self.server.log_fh.flush()

    # -- plumbing
    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send(self, status, body, ctype="application/json", extra=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def hard_close(self, rst):
        try:
            if rst:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    # -- dispatch
    def do_GET(self):
        p = self.path.split("?", 1)[0]
        if p == "/_requests":
            since = 0
            if "?" in self.path and self.path.split("?", 1)[1].startswith("since="):
                since = int(self.path.split("since=", 1)[1])
            with self.state.lock:
                reqs = [r for r in self.state.requests if r["seq"] > since]
            return self.send(200, reqs)
        if p == "/_faults":
            with self.state.lock:
                return self.send(200, {"faults": self.state.faults, "default": self.state.default_fault})
        if p == "/_stats":
            with self.state.lock:
                return self.send(200, {"requests": len(self.state.requests),
                                       "max_in_flight": self.state.max_in_flight,
                                       "rate_limited": self.state.rate_limited})
        if p == "/_health":
            return self.send(200, {"ok": True})
        if p in ("/v1/models", "/models"):
            return self.serve("models", b"")
        self.record_simple(404)
        return self.send(404, error_body(f"no route GET {p}", 404))

    def do_DELETE(self):
        if self.path.split("?", 1)[0] == "/_requests":
            with self.state.lock:
                self.state.requests = []
            return self.send(200, {"ok": True})
        return self.send(404, error_body("no route", 404))

    def do_POST(self):
        p = self.path.split("?", 1)[0]
        body = self.read_body()
        if p == "/_faults":
            try:
                data = json.loads(body or b"[]")
                faults = data if isinstance(data, list) else data.get("faults", [])
                append = isinstance(data, dict) and bool(data.get("append"))
                self.state.set_faults(faults, append)
                if isinstance(data, dict) and "default" in data:
                    with self.state.lock:
                        self.state.default_fault = check_fault(data["default"]) if data["default"] else None
            except (ValueError, AttributeError) as e:
                return self.send(400, {"error": str(e)})
            return self.send(200, {"ok": True})
        if p == "/_reset":
            self.state.reset()
            return self.send(200, {"ok": True})
        if p == "/_config":
            try:
                cfg = json.loads(body or b"{}")
                with self.state.lock:
                    if "rate_limit" in cfg:
                        self.state.rate_rpm = float(cfg["rate_limit"] or 0)
                    if "burst" in cfg:
                        self.state.burst = float(cfg["burst"])
                        self.state.tokens = float(cfg["burst"])
                        self.state.last_refill = time.monotonic()
                    if "rate_retry_after" in cfg:
                        self.state.rate_retry_after = cfg["rate_retry_after"]
                    if "api_key" in cfg:
                        self.state.api_key = cfg["api_key"]
                    for k in ("context_tokens", "max_request_bytes", "refuse_marker", "strict_text"):
                        if k in cfg:
                            setattr(self.state, k, cfg[k])
                if "latency" in cfg:
                    lat = parse_latency(cfg["latency"])
                    with self.state.lock:
                        self.state.latency = lat
            except (ValueError, SystemExit) as e:
                return self.send(400, {"error": str(e)})
            return self.send(200, {"ok": True})
        if p in ("/v1/chat/completions", "/chat/completions"):
            return self.serve("chat", body)
        self.record_simple(404, body)
        return self.send(404, error_body(f"no route POST {p}", 404))

    def record_simple(self, status, body=b""):
        self.state.record({"time": time.time(), "method": self.command, "path": self.path,
                           "headers": dict(self.headers.items()),
                           "body": body.decode("utf-8", "replace"), "fault": None, "status": status})

    # -- the API
    def serve(self, kind, body):
        st = self.state
        with st.lock:
            st.in_flight += 1
            st.max_in_flight = max(st.max_in_flight, st.in_flight)
        try:
            self._serve(kind, body)
        finally:
            with st.lock:
                st.in_flight -= 1

    def _serve(self, kind, body):
        st = self.state
        entry = st.record({"time": time.time(), "method": self.command, "path": self.path,
                           "headers": dict(self.headers.items()),
                           "body": body.decode("utf-8", "replace"), "fault": None, "status": None})
        wait = st.take_rate_token()
        if wait is not None:
            entry["fault"] = "rate_limited"
            entry["status"] = 429
            extra = {}
            if st.rate_retry_after == "ceil":
                extra["Retry-After"] = str(max(1, math.ceil(wait)))
            elif st.rate_retry_after == "fraction":
                extra["Retry-After"] = "%.3f" % wait
            return self.send(429, error_body("Rate limit exceeded: too many requests", 429,
                                             "rate_limit_error"), extra=extra)
        if st.api_key is not None:
            auth = self.headers.get("Authorization", "")
            if auth != "Bearer " + st.api_key:
                entry["status"] = 401
                return self.send(401, error_body("Authentication Error, invalid API key", 401,
                                                 "auth_error"))
        fault = st.next_fault(kind)
        entry["fault"] = fault["fault"] if fault else "normal"
        key = group = None
        if st.per_request:
            try:
                model = json.loads(body or b"{}").get("model", "")
            except (ValueError, AttributeError):
                model = ""
            key = "|".join([model] + [self.headers.get("X-LLM4HEP-" + h, "")
                                      for h in ("Step", "Agent", "Trial", "Call")])
            group = "group|" + model + "|" + self.headers.get("X-LLM4HEP-Step", "")
        lat = st.draw_latency(key, group) if kind == "chat" else 0.0
        if lat > 0:
            time.sleep(lat)
        if kind == "models":
            return self.answer_models(entry, fault)
        if st.max_request_bytes and len(body) > st.max_request_bytes:
            entry["status"] = 413
            entry["fault"] = "refused"
            return self.send(413, HTML_413, "text/html")
        try:
            req = json.loads(body)  # bytes that are not UTF-8 are refused here
            if not isinstance(req, dict):
                raise ValueError("not an object")
        except ValueError as e:
            entry["status"] = 400
            entry["fault"] = "refused"
            return self.send(400, error_body(f"request body is not JSON: {e}", 400))
        refusal = refuse(st, req)
        if refusal:
            entry["status"] = refusal[0]
            entry["fault"] = "refused"
            return self.send(refusal[0], refusal[1])
        return self.answer_chat(entry, fault, req)

    def answer_models(self, entry, fault):
        if fault and fault["fault"] in ("status", "error_body"):
            return self.apply_fault(entry, fault, {"object": "list", "data": []})
        if self.state.echo_any:  # any name is served: no list, as servers without /models
            entry["status"] = 404
            return self.send(404, error_body("this server offers no model list", 404))
        ids = ["echo", "test/echo"]
        if self.state.scripted_dir and os.path.isdir(self.state.scripted_dir):
            for f in sorted(os.listdir(self.state.scripted_dir)):
                stem, ext = os.path.splitext(f)
                if ext in (".yml", ".yaml"):
                    ids += [stem, "scripted/" + stem]
        entry["status"] = 200
        return self.send(200, {"object": "list",
                               "data": [{"id": i, "object": "model", "owned_by": "llm4hep"} for i in ids]})

    def answer_chat(self, entry, fault, req):
        model = req.get("model") or ""
        ftype = fault["fault"] if fault else "normal"
        if ftype not in ("normal", "tool_calls", "drip", "truncated", "truncated_json"):
            return self.apply_fault(entry, fault, None)
        # the answer itself
        try:
            path = script_path(self.state, model)
            if path:
                content, calls, usage = scripted_answer(self.state, path, model, self.headers)
            elif model.rsplit("/", 1)[-1] == "echo" or self.state.echo_any:
                last = ""
                for m in req.get("messages") or []:
                    if isinstance(m, dict) and m.get("role") == "user" and isinstance(m.get("content"), str):
                        last = m["content"]
                content, calls = "echo: " + last, []
                usage = {"prompt_tokens": self.state.echo_usage[0],
                         "completion_tokens": self.state.echo_usage[1]}
            else:
                raise ScriptError(404, f"The model `{model}` does not exist", "model_not_found")
        except ScriptError as e:
            entry["status"] = e.status
            return self.send(e.status, error_body(e.message, e.code))
        fault = fault or {}
        if "content" in fault:
            content = fault["content"]
        if self.state.cached_tokens:
            usage = dict(usage, cached_tokens=min(self.state.cached_tokens,
                                                  int(usage.get("prompt_tokens", 0))))
        if self.state.is_reasoning(model) and self.state.reasoning_tokens:
            usage = dict(usage, reasoning_tokens=min(self.state.reasoning_tokens,
                                                     int(usage.get("completion_tokens", 0))))
        if "usage" in fault:
            usage = dict(usage, **fault["usage"])
        if ftype == "tool_calls":
            calls = [{"id": c.get("id", f"call_fault_{i}"), "name": c.get("name", ""),
                      "arguments": c["arguments"] if isinstance(c.get("arguments"), str)
                      else json.dumps(c.get("arguments", {}))}
                     for i, c in enumerate(fault.get("tool_calls") or [])]
            if "content" not in fault:
                content = None
        body = completion_body(model, content, calls, usage, fault.get("finish_reason"),
                               fault.get("reasoning_content"))
        if "raw_usage" in fault:  # a lying server: the usage object sent as given (any JSON)
            body["usage"] = fault["raw_usage"]
        served, fingerprint = self.state.served_version(model)
        body["model"] = served
        if fingerprint is not None:
            body["system_fingerprint"] = fingerprint
        extra = {self.state.model_id_header: "deploy-" + served} if self.state.model_id_header else None
        raw = json.dumps(body).encode()
        entry["status"] = 200
        if ftype == "drip":
            return self.drip(raw, float(fault.get("interval", 0.1)), int(fault.get("chunk", 16)))
        if ftype == "truncated":
            # promise the whole body, send half, close
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw[: len(raw) // 2])
            self.wfile.flush()
            return self.hard_close(rst=False)
        if ftype == "truncated_json":
            return self.send(200, raw[: len(raw) // 2])
        return self.send(200, raw, extra=extra)

    def drip(self, raw, interval, chunk):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        try:
            for i in range(0, len(raw), chunk):
                self.wfile.write(raw[i:i + chunk])
                self.wfile.flush()
                time.sleep(interval)
        except OSError:
            self.close_connection = True

    def apply_fault(self, entry, fault, _unused):
        f = fault["fault"]
        if f == "status":
            status = int(fault.get("status", 500))
            entry["status"] = status
            extra = {}
            if "retry_after" in fault:
                extra["Retry-After"] = str(fault["retry_after"])
            if "retry_after_ms" in fault:
                extra["retry-after-ms"] = str(fault["retry_after_ms"])
            if "retry_after_date" in fault:
                extra["Retry-After"] = email.utils.formatdate(
                    time.time() + float(fault["retry_after_date"]), usegmt=True)
            kind = fault.get("body", "json")
            if kind == "html":
                return self.send(status, HTML_502, "text/html", extra)
            if kind == "json":
                return self.send(status, error_body(f"injected HTTP {status}", status, "server_error"),
                                 extra=extra)
            return self.send(status, str(kind), "text/plain", extra)
        if f == "error_body":
            status = int(fault.get("status", 400))
            entry["status"] = status
            return self.send(status, error_body(fault.get("message", "injected error"),
                                                fault.get("code", status),
                                                fault.get("type", "invalid_request_error")))
        if f == "hang":
            entry["status"] = 0
            time.sleep(float(fault.get("seconds", 30)))
            return self.hard_close(rst=False)
        if f == "reset":
            entry["status"] = 0
            return self.hard_close(rst=True)
        if f == "malformed":
            entry["status"] = 200
            return self.send(200, fault.get("body", "<html>Service temporarily unavailable</html> not json"),
                             "application/json")
        if f == "empty":
            entry["status"] = 200
            return self.send(200, b"")
        entry["status"] = 500
        return self.send(500, error_body(f"fault {f} not handled here", 500))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    log_fh = None

    def handle_error(self, request, client_address):
        pass  # clients that give up (timeouts) are expected here


def main(argv=None):
    ap = argparse.ArgumentParser(description="loopback OpenAI-compatible test server for llm4hep")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = a free one)")
    ap.add_argument("--port-file", help="also write the port to this file")
    ap.add_argument("--scripted-dir", help="directory of scripted-model YAML files")
    ap.add_argument("--faults", help="JSON or YAML file: a list of faults (or {faults: [...], default: {...}})")
    ap.add_argument("--latency", default="none",
                    help="added latency: fixed:S | uniform:A,B | exp:MEAN | normal:MEAN,SD | lognormal:MU,SIGMA")
    ap.add_argument("--seed", type=int, default=1, help="seed of the latency RNG")
    ap.add_argument("--latency-per-request", action="store_true",
                    help="draw each request's latency from its model and X-LLM4HEP-* position "
                         "(with --seed), so repeated campaigns see the same latencies")
    ap.add_argument("--latency-per-group", type=float, metavar="NOISE",
                    help="draw the latency once per model and step (with --seed) and give each "
                         "request that times a lognormal(0, NOISE) factor: learnable durations")
    ap.add_argument("--rate-limit", type=float, default=0, help="requests per minute admitted (token bucket)")
    ap.add_argument("--burst", type=float, default=1, help="token bucket size for --rate-limit")
    ap.add_argument("--rate-retry-after", default="ceil", choices=["ceil", "fraction", "none"],
                    help="Retry-After on rate-limit 429s: whole seconds, fractional, or absent")
    ap.add_argument("--api-key", help="require 'Authorization: Bearer KEY' (else 401)")
    ap.add_argument("--api-key-env", help="like --api-key, read from this environment variable")
    ap.add_argument("--echo-usage", default="11,7", help="usage of the echo model: PROMPT,COMPLETION")
    ap.add_argument("--echo-any", action="store_true",
                    help="answer every model without a script as the echo model; GET /models is then 404")
    ap.add_argument("--log", help="access log file (default: none)")
    ap.add_argument("--context-tokens", type=int, default=0,
                    help="refuse (400 context_length_exceeded) a request of more tokens (one per "
                         "UTF-8 byte of its texts, 4 per message, plus max_tokens)")
    ap.add_argument("--max-request-bytes", type=int, default=0,
                    help="refuse (413, nginx's page) a request body larger than this")
    ap.add_argument("--refuse-marker", default=None,
                    help="refuse (400 content_filter) a request whose texts contain this string")
    ap.add_argument("--strict-text", action="store_true",
                    help="refuse (400) texts holding lone surrogates or control characters "
                         "other than tab, LF and CR")
    ap.add_argument("--reasoning-models", metavar="REGEX",
                    help="models (full match) that behave as OpenAI's reasoning models: refuse "
                         "max_tokens (400, OpenAI's words), take max_completion_tokens and "
                         "reasoning_effort, report reasoning tokens; others refuse reasoning_effort")
    ap.add_argument("--reasoning-tokens", type=int, default=5,
                    help="usage.completion_tokens_details.reasoning_tokens of a reasoning model's "
                         "answer (at most its completion tokens; default 5)")
    ap.add_argument("--cached-tokens", type=int, default=0,
                    help="report this many prompt tokens (at most all) as "
                         "usage.prompt_tokens_details.cached_tokens (default 0: not reported)")
    ap.add_argument("--served-model", action="append", metavar="ALIAS=NAME[@FP][,NAME[@FP]...]",
                    help="answer requests for ALIAS with these \"model\" (and system_fingerprint) "
                         "values, in turn per request (an alias drifting between versions)")
    ap.add_argument("--model-id-header", metavar="NAME",
                    help="send header NAME: deploy-<served model> with each answer (a proxy's model id)")
    args = ap.parse_args(argv)

    state = ServerState(args)
    if args.faults:
        with open(args.faults, encoding="utf-8") as fh:
            text = fh.read()
        plan = yaml.safe_load(text) if yaml else json.loads(text)
        if isinstance(plan, dict):
            state.set_faults(plan.get("faults") or [])
            if plan.get("default"):
                state.default_fault = check_fault(plan["default"])
        else:
            state.set_faults(plan or [])
    Handler.state = state
    srv = Server(("127.0.0.1", args.port), Handler)
    if args.log:
        srv.log_fh = open(args.log, "a", encoding="utf-8")
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(port, flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
