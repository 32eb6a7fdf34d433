"""llm_testkit.py — start and drive tests/server/llm_server.py from pytest.

    from llm_testkit import LLMServer   # tests/integration/conftest.py puts tests/server on sys.path

    with LLMServer(scripted_dir=".../scripted", rate_limit=600) as srv:
        srv.faults([{"fault": "status", "status": 429, "retry_after": 1}])
        ... point an endpoint at srv.base_url (".../v1") ...
        reqs = srv.requests()          # every request: method, path, headers, body, fault, status

Standard library only; the server itself needs PyYAML for scripted models.
"""
import json
import os
import subprocess
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "llm_server.py")
PYTHON = os.environ.get("LLM4HEP_PYTHON", "/usr/bin/python3")


class LLMServer:
    """A running llm_server.py on 127.0.0.1; a context manager that stops it."""

    def __init__(self, scripted_dir=None, faults_file=None, latency=None, rate_limit=None,
                 burst=None, api_key=None, rate_retry_after=None, echo_usage=None, seed=None,
                 extra_args=()):
        args = [PYTHON, SERVER]
        if scripted_dir:
            args += ["--scripted-dir", scripted_dir]
        if faults_file:
            args += ["--faults", faults_file]
        if latency:
            args += ["--latency", latency]
        if rate_limit:
            args += ["--rate-limit", str(rate_limit)]
        if burst:
            args += ["--burst", str(burst)]
        if api_key:
            args += ["--api-key", api_key]
        if rate_retry_after:
            args += ["--rate-retry-after", rate_retry_after]
        if echo_usage:
            args += ["--echo-usage", echo_usage]
        if seed is not None:
            args += ["--seed", str(seed)]
        args += list(extra_args)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.proc.kill()
            raise RuntimeError(f"llm_server.py did not start: {line!r} {err}")
        self.port = int(line)
        self.url = f"http://127.0.0.1:{self.port}"
        self.base_url = self.url + "/v1"

    # -- admin
    def _call(self, method, path, payload=None):
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def faults(self, faults, default=None, append=False):
        """Queue faults for the next requests (each applies `count` times, default 1)."""
        payload = {"faults": faults, "append": append}
        if default is not None:
            payload["default"] = default
        return self._call("POST", "/_faults", payload)

    def configure(self, **cfg):
        """Change rate_limit, burst, latency, rate_retry_after or api_key while running."""
        return self._call("POST", "/_config", cfg)

    def requests(self, since=0):
        return self._call("GET", f"/_requests?since={since}")

    def stats(self):
        return self._call("GET", "/_stats")

    def reset(self):
        return self._call("POST", "/_reset", {})

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            if f:
                f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


if __name__ == "__main__":
    with LLMServer(*sys.argv[1:2]) as s:
        print(s.base_url, s.stats())
