"""`llm4hep sweep CONFIG --dry-run` through the CLI: the 60-task example plan in
trial-interleaved order, and one exact error (exit code 2) per broken config in
tests/fixtures/configs/broken/ (each file's first line: `# expect: MESSAGE`)."""
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, SRC as SRC_DIR

SRC = Path(SRC_DIR)
BROKEN = SRC / "tests" / "fixtures" / "configs" / "broken"
FOUR = SRC / "examples" / "four-models.yml"
MODELS = ["anthropic/claude-sonnet:latest", "openai/gpt-5", "openai/o3", "google/gemini-2.5-pro"]
STEPS = ["summarize_root", "create_numpy", "preprocess", "scores", "categorization"]


def sweep(*args, cwd=None, env=None):
    e = dict(os.environ)
    # a dry run must need no key, no MPI launcher and no network: make any attempt fail loudly
    e.pop("CBORG_API_KEY", None)
    e.update({"https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"})
    e.update(env or {})
    return subprocess.run([BIN, "sweep", *args], capture_output=True, text=True, cwd=cwd, env=e,
                          timeout=60)


def plan_rows(out):
    """(index, trial, step, model, key) of the 'first tasks' table."""
    rows = []
    for line in out.splitlines():
        m = re.match(r"^\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)\s+([0-9a-f]{16})$", line)
        if m:
            rows.append((int(m[1]), int(m[2]), m[3], m[4], m[5]))
    return rows


def test_sixty_task_plan():
    r = sweep(str(FOUR), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    out = r.stdout
    assert "campaign four-models: 60 tasks (4 models x 5 steps x up to 3 trials)" in out
    for m in MODELS:
        assert re.search(r"^\s+%s\s+3\s+15$" % re.escape(m), out, re.M), m
    for i, s in enumerate(STEPS, 1):
        assert re.search(r"^\s+%d %s\s+12$" % (i, s), out, re.M), s
    assert re.search(r"^\s+total\s+60$", out, re.M)
    assert "cborg: http https://api.cborg.lbl.gov (key from $CBORG_API_KEY)" in out
    assert "    models: " + ", ".join(MODELS) in out
    assert "output   %s" % (FOUR.parent / ".." / "results" / "four-models.h5") in out
    rows = plan_rows(out)
    assert len(rows) == 30
    assert "... and 30 more" in out
    # trial-interleaved: all 20 tasks of trial 1 (steps outer, models inner), then trial 2
    for i, (idx, trial, step, model, key) in enumerate(rows):
        assert idx == i + 1
        assert trial == i // 20 + 1
        assert step == STEPS[(i % 20) // 4]
        assert model == MODELS[i % 4]
    assert len({r[4] for r in rows}) == 30


def test_uneven_plan_print(tmp_path):
    """Pairs with different trials, steps named out of suite order, one
    endpoint: the counts, the columns and the endpoint's models (the print
    lives in the CLI, src/cli/plan_print.c)."""
    suite = SRC / "tests" / "fixtures" / "configs" / "suite" / "suite.yml"
    (tmp_path / "c.yml").write_text(
        f"name: uneven\nsuite: {suite}\ntrials: 1\nsteps: [scores, 1]\n"
        "pairs: [{supervisor: s, coder: c, trials: 3}, {supervisor: s, coder: d}]\n"
        "models: [m]\n"
        "endpoints: {e: {base_url: http://127.0.0.1:1}}\nmodel_defaults: {endpoint: e}\n")
    r = sweep("c.yml", "--dry-run", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert "campaign uneven: 10 tasks (3 pairs x 2 steps x up to 3 trials)\n" in text
    assert "  s -> c       3      6\n" in text
    assert "   4 scores              5\n" in text
    assert "   1 summarize_root      5\n" in text
    assert "     total              10\n" in text
    assert "  e: http http://127.0.0.1:1 (no key)\n    models: m, s, c, d\n" in text
    assert "     7      2  scores          s -> c  " in text
    assert "more" not in text


def test_plan_is_stable_and_writes_nothing(tmp_path):
    """Same keys from another directory and a copied config; nothing is created."""
    cfg = tmp_path / "c.yml"
    text = FOUR.read_text().replace("../reference/hgg/suite.yml",
                                    str(SRC / "reference" / "hgg" / "suite.yml"))
    text = text.replace("../results/four-models.h5", str(tmp_path / "out" / "r.h5"))
    cfg.write_text(text)
    a = sweep(str(FOUR), "--dry-run")
    b = sweep("c.yml", "--dry-run", cwd=tmp_path)
    assert a.returncode == 0 and b.returncode == 0, b.stderr
    assert plan_rows(a.stdout) == plan_rows(b.stdout)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yml"]


BROKEN_FILES = sorted(BROKEN.glob("*.yml"))


def test_enough_broken_configs():
    assert len(BROKEN_FILES) >= 30


@pytest.mark.parametrize("path", BROKEN_FILES, ids=[p.stem for p in BROKEN_FILES])
def test_broken_config(path):
    first = path.read_text().split("\n", 1)[0]
    assert first.startswith("# expect: ")
    want = first[len("# expect: "):].replace("{file}", str(path)).replace("{dir}", str(path.parent))
    r = sweep(str(path), "--dry-run")
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr == "llm4hep sweep: " + want + "\n"


def test_broken_config_relative_path():
    """Messages name the file as the user typed it."""
    r = sweep("broken/trials-zero.yml", "--dry-run", cwd=BROKEN.parent)
    assert r.returncode == 2
    assert r.stderr == ("llm4hep sweep: broken/trials-zero.yml:4:9: key 'trials': expected an "
                        "integer from 1 to 1000000, got '0'\n")


def test_non_utf8_config(tmp_path):
    p = tmp_path / "latin1.yml"
    p.write_bytes(b"name: demo\n# r\xe9sum\xe9 of the campaign\nsuite: s.yml\n")
    r = sweep(str(p), "--dry-run")
    assert r.returncode == 2
    assert r.stderr == "llm4hep sweep: %s:2:4: invalid UTF-8 byte 0xe9: expected UTF-8 text\n" % p


def test_secret_not_echoed(tmp_path):
    """A key pasted where the variable name belongs is refused without printing it."""
    r = sweep(str(BROKEN / "api-key-inline.yml"), "--dry-run")
    assert r.returncode == 2
    assert "sk-abc123-secret" not in r.stderr


def test_usage_errors():
    r = sweep()
    assert r.returncode == 2
    assert r.stderr == ("llm4hep sweep: missing CONFIG: expected the campaign's config file "
                        "(llm4hep sweep --help)\n")
    r = sweep(str(FOUR), "--dry-rn")
    assert r.returncode == 2
    assert r.stderr == ("llm4hep sweep: unknown option '--dry-rn': expected --dry-run, --fresh, "
                        "--retry-infra, --grace S or --accept-changed-inputs (llm4hep sweep --help)\n")
    r = sweep(str(FOUR), str(FOUR), "--dry-run")
    assert r.returncode == 2
    assert "a second CONFIG" in r.stderr


def test_help():
    r = sweep("--help")
    assert r.returncode == 0
    for opt in ("--dry-run", "--fresh", "--retry-infra", "--grace S", "--help", "exit codes"):
        assert opt in r.stdout


EXAMPLES = sorted((SRC / "examples").glob("*.yml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_plan(path):
    """Every shipped example loads and plans offline (no key, no data needed)."""
    r = sweep(str(path), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert re.match(r"campaign \S+: \d+ tasks", r.stdout)


def test_demo_plan():
    r = sweep(str(SRC / "examples" / "demo.yml"), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("campaign demo: 30 tasks (3 models x 5 steps x up to 2 trials)\n")
    assert "  demo: scripted %s\n" % (SRC / "examples" / ".." / "reference" / "hgg" / "scripted") \
        in r.stdout
    assert "    models: scripted/careful, scripted/stubborn, scripted/variable\n" in r.stdout
