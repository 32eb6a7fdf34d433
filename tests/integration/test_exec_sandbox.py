"""The bubblewrap sandbox against hostile generated code (issue 5, Done-when).

Every test runs real Python payloads through tests/tools/exec_run (a fresh
workspace, the code at generated_code/iter_1.py, run the way the agent runs it)
and asserts what the code could and could not do, and what it left behind.
The API key sits in the driver's environment and in a key file in its $HOME;
the driver makes itself non-dumpable as the task process does.

The helpers here (Box, leftovers, ...) are shared with test_exec_limits.py and
test_exec_rlimit.py.
"""
import hashlib
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import tempfile

import pytest

from conftest import TOOLS

DRIVER = os.path.join(TOOLS, "exec_run")
KEY = "sk-l4htest-" + secrets.token_hex(16)
KEY_PREFIX = "sk-l4htest-"
SMALL = ["--timeout", "5", "--memory-mb", "1024", "--workspace-mb", "64", "--output-bytes", "4096"]


def tree_digest(path):
    """Names, sizes and contents of everything under path."""
    h = hashlib.sha256()
    for root, dirs, files in sorted(os.walk(path)):
        dirs.sort()
        for name in sorted(dirs + files):
            p = os.path.join(root, name)
            h.update(os.path.relpath(p, path).encode())
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as f:
                    h.update(f.read())
    return h.hexdigest()


def leftovers(marker):
    """Live processes whose command line contains marker."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmd and state not in ("Z", "X"):
            found.append((pid, cmd))
    return found


def new_marker():
    """A number usable as `sleep` argument, unique to one test."""
    return f"{random.randint(5000, 9999)}.{random.randint(0, 999999):06d}"


# the group of the reference dir when it is closed to the code (rlimit)
REF_GID = 4343


class Box:
    """Directories for one test module: scratch (workspaces), data, reference
    outputs, the driver's $HOME with a key file, and a world-writable
    directory outside everything."""

    def __init__(self, isolation, user=None):
        """user: run the driver as this uid (via setpriv) — the ordinary,
        unprivileged user that llm4hep is on a cluster; None: as we are."""
        self.isolation = isolation
        self.user = user
        self.base = tempfile.mkdtemp(prefix="l4h-exec-test-")
        os.chmod(self.base, 0o755)
        self.scratch = self._dir("scratch", 0o755)
        self.data = self._dir("data", 0o755)
        self.ref = self._dir("reference", 0o755)
        self.home = self._dir("home", 0o700)
        self.outside = self._dir("outside", 0o777)
        self.codes = self._dir("codes", 0o755)
        os.makedirs(os.path.join(self.ref, "arrays"))
        with open(os.path.join(self.data, "values.txt"), "w") as f:
            f.write("\n".join(str(x) for x in range(100)))
        with open(os.path.join(self.ref, "arrays", "staged.txt"), "w") as f:
            f.write("staged input\n")
        with open(os.path.join(self.ref, "answer.txt"), "w") as f:
            f.write("the hidden reference answer 42\n")
        for d in (self.data, self.ref, os.path.join(self.ref, "arrays")):
            os.chmod(d, 0o755)
        self.keyfile = os.path.join(self.home, ".cborg_api_key")
        with open(self.keyfile, "w") as f:
            f.write(KEY + "\n")
        os.chmod(self.keyfile, 0o600)
        if user is not None:  # the user's own scratch, home and key file
            for p in (self.scratch, self.home, self.keyfile):
                os.chown(p, user, user)
        self.n = 0

    def _dir(self, name, mode):
        p = os.path.join(self.base, name)
        os.mkdir(p)
        os.chmod(p, mode)
        return p

    def env(self, **extra):
        e = {k: v for k, v in os.environ.items() if not k.startswith("LLM4HEP_BWRAP")}
        e.update(HOME=self.home, CBORG_API_KEY=KEY, http_proxy="http://user:pw@proxy.invalid:3128",
                 TMPDIR=self.scratch)
        e.update(extra)
        return e

    def run(self, code, *flags, args=(), expect_rc=0, env=None, stage=True, timeout=120):
        """Run code; return the parsed JSON (or the CompletedProcess when
        expect_rc != 0)."""
        self.n += 1
        path = os.path.join(self.codes, f"code{self.n}.py")
        with open(path, "w") as f:
            f.write(code)
        cmd = [] if self.user is None else [
            "/usr/bin/setpriv", f"--reuid={self.user}", f"--regid={self.user}", "--clear-groups", "--"]
        cmd += [DRIVER, "--isolation", self.isolation, "--scratch", self.scratch, "--data", self.data,
               "--reference", self.ref, "--secret-env", "CBORG_API_KEY"]
        if stage:
            cmd += ["--stage", "arrays/staged.txt"]
        cmd += list(flags)
        if "--program" not in flags:
            cmd.append(path)
        cmd += list(args)
        env = env or self.env()
        self.close_reference(self.isolation == "rlimit" or
                             (self.isolation == "auto" and "LLM4HEP_BWRAP" in env))
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        assert KEY not in p.stdout and KEY not in p.stderr
        assert p.returncode == expect_rc, f"exit {p.returncode}: {p.stderr}"
        if expect_rc != 0:
            return p
        return json.loads(p.stdout)

    def close_reference(self, closed):
        """The rlimit backend runs only where the code (uid 65534) can neither
        list nor enter the reference dir: give it a group of its own (check
        programs run with it) and close it to others; bubblewrap, started as
        uid 65534, needs it open to bind it."""
        if os.geteuid() != 0:
            return
        for root, dirs, files in os.walk(self.ref):
            for p in [root] + [os.path.join(root, f) for f in files]:
                os.chown(p, 0, REF_GID if closed else 0)
                is_dir = os.path.isdir(p)
                os.chmod(p, (0o750 if is_dir else 0o640) if closed else (0o755 if is_dir else 0o644))

    def close(self):
        shutil.rmtree(self.base, ignore_errors=True)


def check_next_run_works(box):
    """After a limit: a fresh task in a fresh workspace runs normally."""
    out = box.run("print('next run ok')", *SMALL)["result"]
    assert out["exit_code"] == 0 and out["stdout"] == "next run ok\n", out


# as we are (root here: the code runs as 65534) and, when root, as an
# ordinary user (as on a cluster: bubblewrap unprivileged)
@pytest.fixture(scope="module", params=["self"] + (["user"] if os.geteuid() == 0 else []))
def box(request):
    b = Box("bwrap", user=4242 if request.param == "user" else None)
    yield b
    b.close()


WRITES = r'''
import json, os, sys
targets = json.loads(sys.argv[1])
res = {}
for name, path in targets.items():
    try:
        with open(path, "w") as f:
            f.write("pwned")
        res[name] = "written"
    except OSError as e:
        res[name] = "refused: " + e.strerror
def attempt(name, fn):
    try:
        fn()
        res[name] = "done"
    except OSError as e:
        res[name] = "refused: " + e.strerror
attempt("unlink_staged", lambda: os.unlink("arrays/staged.txt"))
attempt("rename_staged", lambda: os.rename("arrays/staged.txt", "arrays/moved.txt"))
attempt("chmod_staged", lambda: os.chmod("arrays/staged.txt", 0o666))
attempt("mkdir_root", lambda: os.mkdir("/newdir"))
attempt("mkdir_data", lambda: os.mkdir("/data/newdir"))
print(json.dumps(res))
'''


def test_writes_outside_the_workspace_fail_and_change_nothing(box):
    marker = new_marker()
    host_tmp = f"/tmp/l4h-exec-test-{marker}"
    targets = {
        "workspace": "arrays/out.txt",          # the control: allowed
        "sandbox_tmp": f"/tmp/l4h-exec-test-{marker}",  # private tmpfs: allowed, host untouched
        "data_view": "/data/new.txt",
        "data_file": "/data/values.txt",
        "data_host": os.path.join(box.data, "new.txt"),
        "reference_view": "/reference/new.txt",
        "reference_host": os.path.join(box.ref, "answer.txt"),
        "usr": "/usr/l4h-exec-test.txt",
        "usr_lib": "/usr/lib/l4h-exec-test.txt",
        "home_key": box.keyfile,
        "home_new": os.path.join(box.home, "new.txt"),
        "outside": os.path.join(box.outside, "new.txt"),
        "root": "/l4h-exec-test.txt",
        "etc": "/etc/l4h-exec-test.txt",
        "etc_passwd": "/etc/passwd",
        "staged": "arrays/staged.txt",
    }
    before = {d: tree_digest(d) for d in (box.data, box.ref, box.home, box.outside)}
    out = box.run(WRITES, *SMALL, args=[json.dumps(targets)])["result"]
    assert out["exit_code"] == 0, out
    res = json.loads(out["stdout"])
    assert res.pop("workspace") == "written"
    assert res.pop("sandbox_tmp") == "written"
    for name, what in res.items():
        assert what.startswith("refused"), (name, what)
    after = {d: tree_digest(d) for d in (box.data, box.ref, box.home, box.outside)}
    assert after == before
    for p in ("/usr/l4h-exec-test.txt", "/usr/lib/l4h-exec-test.txt", "/l4h-exec-test.txt",
              "/etc/l4h-exec-test.txt", "/newdir", host_tmp):
        assert not os.path.exists(p), p
    assert "arrays/out.txt" in [f["path"] for f in out["files"]]
    assert {"path": "arrays/staged.txt", "size": len("staged input\n")} in out["files"]


READS = r'''
import json, os, sys
res = {}
res["data"] = sorted(os.listdir(os.environ["LLM4HEP_DATA"]))
res["reference_env"] = os.environ.get("LLM4HEP_REFERENCE")
res["reference_view"] = os.path.exists("/reference")
res["reference_host"] = os.path.exists(sys.argv[1])
res["home_host"] = os.path.exists(sys.argv[2])
res["root"] = sorted(os.listdir("/"))
res["uid"] = os.getuid()
res["home"] = os.environ["HOME"]
res["home_writable"] = os.access(os.environ["HOME"], os.W_OK)
res["procs"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
print(json.dumps(res))
'''


def test_code_sees_data_and_workspace_but_not_reference_home_or_host(box):
    out = box.run(READS, *SMALL, args=[os.path.join(box.ref, "answer.txt"), box.keyfile])["result"]
    assert out["exit_code"] == 0, out
    res = json.loads(out["stdout"])
    assert res["data"] == ["values.txt"]
    assert res["reference_env"] is None and not res["reference_view"] and not res["reference_host"]
    assert not res["home_host"]
    assert res["uid"] == 65534
    assert res["home"] == "/workspace/.home" and res["home_writable"]
    assert set(res["root"]) <= {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc",
                                "proc", "dev", "tmp", "workspace", "data"}, res["root"]
    assert len(res["procs"]) == 1, res["procs"]  # its own pid namespace: only itself


def test_check_program_sees_the_reference(box):
    code = ("import os\nprint(os.environ['LLM4HEP_REFERENCE'])\n"
            "print(open(os.path.join(os.environ['LLM4HEP_REFERENCE'], 'answer.txt')).read())")
    out = box.run(code, *SMALL, "--see-reference")["result"]
    assert out["exit_code"] == 0, out
    assert out["stdout"] == "/reference\nthe hidden reference answer 42\n\n"


def test_tool_program_outside_the_workspace_runs_with_stdin(box):
    tools = os.path.join(box.base, "tools")
    os.mkdir(tools)
    os.chmod(tools, 0o755)
    tool = os.path.join(tools, "tool.py")
    with open(tool, "w") as f:
        f.write("import json, sys\nargs = json.load(sys.stdin)\n"
                "print(json.dumps({'sum': sum(args['boundaries'])}))\n")
    stdin = os.path.join(box.base, "stdin.json")
    with open(stdin, "w") as f:
        json.dump({"boundaries": [0.25, 0.5]}, f)
    out = box.run("", *SMALL, "--program", tool, "--stdin", stdin)["result"]
    assert out["exit_code"] == 0, out
    assert json.loads(out["stdout"]) == {"sum": 0.75}


def test_check_program_sees_the_suite_but_generated_code_does_not(box):
    suite = os.path.join(box.base, "suite")
    for d in ("checks", "tools"):
        os.makedirs(os.path.join(suite, d), exist_ok=True)
        os.chmod(os.path.join(suite, d), 0o755)
    os.chmod(suite, 0o755)
    with open(os.path.join(suite, "tools", "helper.py"), "w") as f:
        f.write("VALUE = 7\n")
    check = os.path.join(suite, "checks", "check.py")
    with open(check, "w") as f:
        f.write("import os, sys\nsys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'tools'))\n"
                "import helper\nprint(helper.VALUE)\n")
    out = box.run("", *SMALL, "--suite-dir", suite, "--see-reference", "--program", check)["result"]
    assert out["exit_code"] == 0 and out["stdout"] == "7\n", out
    code = f"import os\nprint(os.path.exists({suite!r}))\n"
    out = box.run(code, *SMALL, "--suite-dir", suite)["result"]
    assert out["stdout"] == "False\n"


def test_a_program_whose_directory_holds_the_reference_is_refused(box):
    # box.base contains the reference dir: binding it would show the answers
    tool = os.path.join(box.base, "peek.py")
    with open(tool, "w") as f:
        f.write("print('should not run')\n")
    p = box.run("", *SMALL, "--program", tool, expect_rc=3)
    assert "would show the reference dir" in p.stderr


KEYHUNT = r'''
import json, os, sys
prefix, keyfile = "PREFIX", sys.argv[1]
found, errors = [], {}
for k, v in os.environ.items():
    if prefix in v:
        found.append("env:" + k)
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    for what in ("environ", "cmdline"):
        try:
            with open(f"/proc/{pid}/{what}", "rb") as f:
                if prefix.encode() in f.read():
                    found.append(f"/proc/{pid}/{what}")
        except OSError as e:
            errors[f"{pid}/{what}"] = e.strerror
home = os.environ["HOME"]
for root, dirs, files in os.walk(home):
    for name in files:
        with open(os.path.join(root, name), "rb") as f:
            if prefix.encode() in f.read():
                found.append(os.path.join(root, name))
for path in (keyfile, os.path.expanduser("~/.cborg_api_key"), "/root/.cborg_api_key"):
    try:
        with open(path) as f:
            if prefix in f.read():
                found.append(path)
    except OSError as e:
        errors[path] = e.strerror
proxies = [k for k in os.environ if "proxy" in k.lower()]
print(json.dumps({"found": found, "proxies": proxies, "n_procs": len([p for p in os.listdir("/proc") if p.isdigit()])}))
'''


def test_api_key_is_nowhere_the_code_can_look(box):
    # the prefix is in the code's source, not in its command line
    out = box.run(KEYHUNT.replace("PREFIX", KEY_PREFIX), *SMALL, args=[box.keyfile])["result"]
    assert out["exit_code"] == 0, out
    assert "[redacted" not in out["stdout"]
    res = json.loads(out["stdout"])
    assert res["found"] == [] and res["proxies"] == []


def test_secret_in_output_is_redacted(box):
    stdin = os.path.join(box.base, "key-on-stdin.txt")
    with open(stdin, "w") as f:
        f.write(KEY)
    code = ("import sys\nk = sys.stdin.read()\nprint('key is', k)\n"
            "print('x' * 5000 + k)\nsys.stderr.write(k + '\\n')\n")
    out = box.run(code, *SMALL, "--stdin", stdin)["result"]
    # the one marker names the variable (core/secrets.c), never the value
    assert out["stdout"].startswith("key is [redacted:CBORG_API_KEY]\n")
    assert out["truncated"] and "bytes cut ...]" in out["stdout"]
    assert out["stdout"].rstrip().endswith("x[redacted:CBORG_API_KEY]")
    assert out["stderr"] == "[redacted:CBORG_API_KEY]\n"
    assert KEY[len(KEY_PREFIX):][:8] not in out["stdout"] + out["stderr"]


NET = r'''
import json, socket, sys
res = {}
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3).close()
    res["connect"] = "connected"
except OSError as e:
    res["connect"] = "refused: %s" % e
for host in ("example.com", "pypi.org", "localhost.localdomain"):
    try:
        res[host] = str(socket.getaddrinfo(host, 443))
    except OSError as e:
        res[host] = "refused: %s" % e
res["interfaces"] = [name for _, name in socket.if_nameindex()]
print(json.dumps(res))
'''


def test_no_network_loopback_listener_and_dns_unreachable(box):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.setblocking(False)
    try:
        out = box.run(NET, *SMALL, args=[str(srv.getsockname()[1])])["result"]
        assert out["exit_code"] == 0, out
        res = json.loads(out["stdout"])
        for what in ("connect", "example.com", "pypi.org", "localhost.localdomain"):
            assert res[what].startswith("refused"), (what, res[what])
        assert res["interfaces"] == ["lo"]
        with pytest.raises(BlockingIOError):
            srv.accept()  # nothing ever reached the listener
    finally:
        srv.close()


NORMAL = r'''
import os, sys
import numpy as np, h5py
import matplotlib.pyplot as plt
vals = np.loadtxt(os.path.join(os.environ["LLM4HEP_DATA"], "values.txt"))
np.save("arrays/doubled.npy", vals * 2)
with h5py.File("arrays/vals.h5", "w") as f:
    f["vals"] = vals
plt.hist(vals, bins=10)
plt.savefig("plots/hist.png")
print("sum", vals.sum(), "backend", plt.get_backend())
'''


def test_numpy_h5py_matplotlib_script_succeeds_and_lists_its_files(box):
    out = box.run(NORMAL, "--timeout", "120", "--memory-mb", "4096", "--workspace-mb", "256")
    res = out["result"]
    assert res["exit_code"] == 0, res["stderr"]
    assert res["stdout"] == "sum 4950.0 backend agg\n"
    files = {f["path"]: f["size"] for f in res["files"]}
    assert files["arrays/doubled.npy"] == 128 + 100 * 8
    assert files["arrays/vals.h5"] > 800 and files["plots/hist.png"] > 1000
    assert "generated_code/iter_1.py" in files and "arrays/staged.txt" in files
    assert not any(p.startswith(".home") for p in files)  # HOME caches are not listed
    assert res["isolation"] == "bwrap" and res["max_rss_kb"] > 10000 and res["cpu_s"] > 0


def test_per_node_cap_serialises_runs_across_processes(box):
    code = "import time\nt0 = time.time()\ntime.sleep(1.0)\nprint(t0, time.time())\n"
    path = os.path.join(box.codes, "cap.py")
    with open(path, "w") as f:
        f.write(code)
    cmd = [DRIVER, "--isolation", "bwrap", "--scratch", box.scratch, "--max-parallel", "1",
           *SMALL, path]
    procs = [subprocess.Popen(cmd, env=box.env(), stdout=subprocess.PIPE, text=True) for _ in range(3)]
    spans = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0
        t0, t1 = map(float, json.loads(out)["result"]["stdout"].split())
        spans.append((t0, t1))
    spans.sort()
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        assert b0 >= a1, spans  # one at a time


def test_a_dead_slot_holder_frees_its_slot(box):
    uid = box.user if box.user is not None else os.geteuid()
    slot_dir = os.path.join(box.scratch, f"llm4hep-slots-{uid}")
    os.makedirs(slot_dir, mode=0o700, exist_ok=True)  # as llm4hep makes it: ours, 0700
    os.chown(slot_dir, uid, uid)
    slot0 = os.path.join(slot_dir, "slot.0")
    open(slot0, "a").close()
    os.chown(slot0, uid, uid)
    holder = subprocess.Popen(
        ["/usr/bin/python3", "-c",
         "import fcntl, sys, time\nf = open(sys.argv[1], 'a')\nfcntl.flock(f, fcntl.LOCK_EX)\n"
         "print('held', flush=True)\ntime.sleep(600)\n", os.path.join(slot_dir, "slot.0")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        path = os.path.join(box.codes, "slot.py")
        with open(path, "w") as f:
            f.write("print('got the slot')\n")
        as_user = [] if box.user is None else [
            "/usr/bin/setpriv", f"--reuid={box.user}", f"--regid={box.user}", "--clear-groups", "--"]
        runner = subprocess.Popen(as_user + [DRIVER, "--isolation", "bwrap", "--scratch", box.scratch,
                                             "--max-parallel", "1", *SMALL, path],
                                  env=box.env(), stdout=subprocess.PIPE, text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            runner.wait(timeout=1.5)  # the only slot is held
        holder.kill()
        holder.wait()
        out, _ = runner.communicate(timeout=30)
        assert runner.returncode == 0
        assert json.loads(out)["result"]["stdout"] == "got the slot\n"
    finally:
        holder.kill()



def test_network_true_is_honoured(box):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    try:
        out = box.run(NET, *SMALL, "--network", "1", args=[str(srv.getsockname()[1])])["result"]
        res = json.loads(out["stdout"])
        assert res["connect"] == "connected"
    finally:
        srv.close()
