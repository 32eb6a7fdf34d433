"""scripts/llm4hep.py, the physicist's reader: DataFrames with str columns,
text slices, transcripts by id or by name, reading only what is needed, and
never holding the file open."""

import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from conftest import SRC, TOOLS

SYNTH = os.path.join(TOOLS, "store_synth")
import llm4hep  # noqa: E402


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("py") / "r.h5"
    r = subprocess.run([SYNTH, str(out), "--tasks", "100", "--seed", "4"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return out


def test_frames(results):
    r = llm4hep.open_results(results)
    assert r.campaign == "synth" and r.attrs["format_version"] == 2
    for name in llm4hep.TABLES:
        df = getattr(r, name)
        assert list(df.columns)  # every table has its columns, even when empty
    t = r.tasks
    assert isinstance(t.status.iloc[0], str) and isinstance(t.supervisor.iloc[0], str)
    assert len(r.final) == 100 and r.final.key.is_unique
    assert set(r.final.status) <= {"success", "failed_validation", "failed_execution",
                                   "failed_no_code", "failed_limit"}
    assert len(r.tasks) > len(r.final)  # reruns are there too
    s = r.summary()
    assert s.tasks.sum() == 100 and ((s.rate >= 0) & (s.rate <= 1)).all()


def test_text_reads_the_slice(results):
    r = llm4hep.open_results(results)
    c = r.calls.iloc[5]
    with h5py.File(results, "r") as f:
        want = f["text"][c.response_off:c.response_off + c.response_len].tobytes().decode()
    assert r.text(c.response_off, c.response_len) == want
    assert r.text(0, 0) == ""
    w = r.with_text(r.calls.head(3), "response")
    assert all(x.startswith('{"choices"') for x in w.response)


def test_request_rebuilt_from_its_pieces(results):
    """A request is the concatenation of its pieces (docs/results-format.md's
    h5py recipe); request() and with_text() give it, and every one is a chat
    body that parses."""
    import json
    r = llm4hep.open_results(results)
    calls = r.calls.head(40)
    w = r.with_text(calls, "request")
    with h5py.File(results, "r") as f:
        for (_, c), got in zip(calls.iterrows(), w.request):
            refs = f["piece_refs"][c.request_off:c.request_off + c.request_len]
            want = b"".join(f["text"][p["text_off"]:p["text_off"] + p["text_len"]].tobytes()
                            for p in (f["pieces"][int(x)] for x in refs)).decode()
            assert got == want == r.request(c)
            assert json.loads(got)["messages"]


def test_transcript_by_id_and_by_name(results):
    r = llm4hep.open_results(results)
    row = r.final[r.final.error_summary_len > 300].iloc[0]
    by_id = r.transcript(int(row.task_id))
    name = f"{row.supervisor}/{row.coder}/{row.step}/{row.trial}"
    assert r.transcript(name) == by_id
    assert r.transcript(f"{row.supervisor}/{row.step}/{row.trial}") == by_id  # sequential mode
    full = r.text(row.error_summary_off, row.error_summary_len)
    assert full in by_id  # the whole summary, not the inline cut
    assert f"Task {row.task_id} (attempt {row.attempt}, final)" in by_id
    assert "=== iteration 1 ===" in by_id and "=== checks ===" in by_id
    i = int(round((row.started_utc - 1.8e9 - row.attempt) / 60))  # store_synth's key index
    assert f"synth key {i} attempt {row.attempt}" in by_id  # this task's texts, not another's
    assert "[user] synth key" in by_id  # the request's newest message, decoded from JSON
    assert "[code]" in by_id and "import numpy as np" in by_id
    assert "[PASS]" in by_id or "[FAIL]" in by_id
    with pytest.raises(KeyError):
        r.transcript("nobody/nothing/create_numpy/1")
    with pytest.raises(KeyError):
        r.transcript(10 ** 6)


def test_transcript_reads_only_its_region(results, monkeypatch):
    r = llm4hep.open_results(results)
    _ = r.tasks, r.annotations
    with h5py.File(results, "r") as f:
        heap_size = f["text"].shape[0]
    sizes = []
    orig = h5py.Dataset.__getitem__

    def spy(self, key):
        if self.name == "/text" and isinstance(key, slice):
            sizes.append((key.stop or self.shape[0]) - (key.start or 0))
        return orig(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    r.transcript(50)
    assert sizes and max(sizes) < heap_size / 20, (max(sizes), heap_size)


def test_file_not_held_open(results):
    r = llm4hep.open_results(results)
    _ = r.tasks, r.calls
    r.transcript(1)
    with h5py.File(results, "r+") as f:  # a writer can open it while r lives
        assert f.attrs["checkpoint_state"] == "clean"


def test_not_a_results_file(tmp_path):
    p = tmp_path / "x.h5"
    with h5py.File(p, "w") as f:
        f["a"] = np.arange(3)
    with pytest.raises(ValueError, match="not an llm4hep results file"):
        llm4hep.open_results(p)


def test_command_line(results):
    out = subprocess.run([sys.executable, os.path.join(SRC, "scripts", "llm4hep.py"), str(results)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "100 final tasks" in out.stdout
    out = subprocess.run([sys.executable, os.path.join(SRC, "scripts", "llm4hep.py"), str(results),
                          "3"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("Task 3 ")
