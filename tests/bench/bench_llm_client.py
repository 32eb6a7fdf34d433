#!/usr/bin/python3
"""bench_llm_client.py — the LLM client's own cost, against plain curl in the
same run, and the throughput it reaches under a server enforcing a rate.

1. Overhead per call: the same request (the exact body the client sends, same
   headers) to the loopback echo server (no added latency)
   a. one process per call: `llm_chat --count 1` vs `curl ... --data-binary @body`;
   b. one process, N calls on a kept-alive connection: `llm_chat --count N` vs
      one curl command line with N requests joined by --next.
2. Throughput: the server admits RATE requests a minute (token bucket of 2);
   `llm_chat --rpm RATE --threads 4` sends N calls. Target: >= 97 % of RATE
   with no failed call (the script exits 1 otherwise).

Quick mode (default) takes a few seconds; LLM4HEP_BENCH_FULL=1 runs longer.
Run: ctest --test-dir build-llm -R bench_llm_client -V, or directly with
LLM4HEP_SOURCE_DIR and LLM4HEP_TOOLS_DIR set.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from conftest import TOOLS  # noqa: E402
from llm_testkit import LLMServer  # noqa: E402
CHAT = os.path.join(TOOLS, "llm_chat")
FULL = os.environ.get("LLM4HEP_BENCH_FULL") == "1"
KEY = "sk-bench-0000"


def env():
    e = dict(os.environ, LLM4HEP_BENCH_KEY=KEY)
    for v in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        e.pop(v, None)
    return e


def chat_cmd(srv, *extra):
    return [CHAT, "--base-url", srv.base_url, "--api-key-env", "LLM4HEP_BENCH_KEY", "--model", "echo",
            "--message", "Plot the diphoton invariant mass between 105 and 160 GeV.",
            "--temperature", "0", "--max-tokens", "256", "--price", "1,2", "--quiet"] + [str(x) for x in extra]


def timed(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=300)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"command failed ({p.returncode}): {' '.join(cmd[:3])}...\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return dt, p.stdout


def overhead(srv, n, tmp):
    body, _ = subprocess.run(chat_cmd(srv, "--request-json"), capture_output=True, text=True,
                             env=env(), check=True).stdout, None
    body_file = os.path.join(tmp, "body.json")
    with open(body_file, "w") as fh:
        fh.write(body.strip())
    url = srv.base_url + "/chat/completions"
    one_curl = ["-s", "-o", "/dev/null", "-X", "POST", url, "-H", "Content-Type: application/json",
                "-H", "Accept: application/json", "-H", "Authorization: Bearer " + KEY,
                "--data-binary", "@" + body_file]
    curl = shutil.which("curl")
    # warm up both
    timed([curl] + one_curl)
    timed(chat_cmd(srv))
    per_curl, per_chat = [], []
    for _ in range(n):  # interleaved so both see the same machine load
        per_curl.append(timed([curl] + one_curl)[0])
        per_chat.append(timed(chat_cmd(srv))[0])
    multi = [curl] + one_curl
    for _ in range(n - 1):
        multi += ["--next"] + one_curl
    t_curl_n, _ = timed(multi)
    t_chat_n, out = timed(chat_cmd(srv, "--count", n))
    summ = json.loads(out.splitlines()[-1])["summary"]
    assert summ["ok"] == n, summ
    return {
        "calls": n,
        "process_per_call_ms": {"curl": 1e3 * statistics.median(per_curl),
                                "llm_chat": 1e3 * statistics.median(per_chat)},
        "in_process_per_call_ms": {"curl": 1e3 * t_curl_n / n, "llm_chat": 1e3 * t_chat_n / n},
    }


def throughput(rate_rpm, n, threads):
    with LLMServer(rate_limit=rate_rpm, burst=2, latency="fixed:0.02") as srv:
        t0 = time.perf_counter()
        p = subprocess.run(chat_cmd(srv, "--count", n, "--threads", threads, "--rpm", rate_rpm,
                                    "--max-attempts", 8, "--base-s", "0.1", "--max-s", "2"),
                           capture_output=True, text=True, env=env(), timeout=600)
        wall = time.perf_counter() - t0
        lines = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
        summ = lines[-1]["summary"]
        ok_times = sorted(r["time"] for r in srv.requests() if r["status"] == 200)
        span = ok_times[-1] - ok_times[0] if len(ok_times) > 1 else float("nan")
        achieved = 60.0 * (len(ok_times) - 1) / span if span > 0 else float("nan")
        return {"allowed_rpm": rate_rpm, "calls": n, "threads": threads, "ok": summ["ok"],
                "failed": summ["failed"], "server_429s": srv.stats()["rate_limited"],
                "achieved_rpm": achieved, "ratio": achieved / rate_rpm, "wall_s": wall}


def main():
    if not os.path.exists(CHAT):
        raise SystemExit(f"bench_llm_client: {CHAT} is not built (cmake --build ... --target llm_chat)")
    n = 200 if FULL else 15
    with tempfile.TemporaryDirectory() as tmp, LLMServer() as srv:
        o = overhead(srv, n, tmp)
    pc, ip = o["process_per_call_ms"], o["in_process_per_call_ms"]
    print(f"LLM client overhead ({'full' if FULL else 'quick'}, {n} calls, loopback echo server, no added latency)")
    print(f"  one process per call : curl {pc['curl']:.2f} ms   llm_chat {pc['llm_chat']:.2f} ms   "
          f"ratio {pc['llm_chat'] / pc['curl']:.2f}   overhead {pc['llm_chat'] - pc['curl']:+.2f} ms/call")
    print(f"  one process, N calls : curl {ip['curl']:.2f} ms   llm_chat {ip['llm_chat']:.2f} ms   "
          f"ratio {ip['llm_chat'] / ip['curl']:.2f}   overhead {ip['llm_chat'] - ip['curl']:+.2f} ms/call")
    t = throughput(3000 if FULL else 600, 1000 if FULL else 40, 4)
    print(f"Throughput under an enforced rate: allowed {t['allowed_rpm']:.0f}/min, achieved "
          f"{t['achieved_rpm']:.1f}/min = {100 * t['ratio']:.1f} % (target >= 97 %), "
          f"{t['ok']} ok, {t['failed']} failed, {t['server_429s']} server 429s, {t['wall_s']:.1f} s")
    print(json.dumps({"overhead": o, "throughput": t}))
    if t["failed"] or not t["ratio"] >= 0.97:
        print("bench_llm_client: target missed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
