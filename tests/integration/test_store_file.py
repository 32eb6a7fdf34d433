"""The results file as h5py and pandas see it, written by the real store API
(tests/tools/store_synth): the layout of docs/results-format.md, valid text
refs, one final row per key, the journal agreeing with the file, a reader
during a campaign, a reader holding the file open, and kill -9 + resume."""

import hashlib
import json
import os
import random
import re
import signal
import struct
import subprocess
import time
import zlib

import h5py
import numpy as np
import pandas as pd
import pytest

from conftest import SRC, TOOLS
SYNTH = os.path.join(TOOLS, "store_synth")
TABLES = ("runs", "tasks", "calls", "execs", "checks", "annotations", "inputs", "pieces")
TEXT_REFS = {"runs": ("config", "python_packages"), "inputs": ("path", "content"),
             "tasks": ("error_summary",),
             "calls": ("response",), "execs": ("code", "stdout", "stderr"),
             "checks": ("report",), "annotations": ("text",), "pieces": ("text",)}


def synth(out, *args, check=True):
    r = subprocess.run([SYNTH, str(out), *map(str, args)], capture_output=True, text=True,
                       timeout=300)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def doc_columns():
    """{table: [(column, dtype)]} parsed from docs/results-format.md."""
    text = open(os.path.join(SRC, "docs", "results-format.md"), encoding="utf-8").read()
    out = {}
    for sec in re.split(r"\n## ", text):
        m = re.match(r"`/(\w+)`", sec)
        if not m or m.group(1) not in TABLES:
            continue
        cols = []
        for line in sec.split("\n"):
            if not line.startswith("|"):
                continue
            cells = [c.strip().replace("\\|", "|")
                     for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
            names = re.findall(r"`(\w+)`", cells[0])
            types = re.findall(r"`([<|]?[a-z]\d+|S\d+)`", cells[1]) if len(cells) > 1 else []
            if not names or not types:
                continue
            if len(types) == 1:
                types = types * len(names)
            assert len(types) == len(names), line
            cols += list(zip(names, types))
        out[m.group(1)] = cols
    return out


def read_journal(path):
    """The journal's records [(type, payload dict, offset)], checking every CRC."""
    data = open(path, "rb").read()
    pos, out = 0, []
    while pos < len(data):
        magic, typ, flags, length, crc = struct.unpack_from("<4sc3sII", data, pos)
        assert magic == b"L4HJ" and flags in (b"\0\0\0", b"\1\0\0")
        payload = data[pos + 16:pos + 16 + length]
        assert zlib.crc32(data[pos:pos + 12] + payload) == crc
        assert data[pos + 16 + length:pos + 17 + length] == b"\n"
        if flags[0] == 1:  # a task record stored deflated: its length, then zlib
            assert typ == b"T"
            raw = zlib.decompress(payload[4:])
            assert len(raw) == struct.unpack_from("<I", payload)[0] and len(raw) >= 1024
            payload = raw
        out.append((typ.decode(), json.loads(payload), pos))
        pos += 17 + length
    return out


def rebuild(f, call):
    """A /calls row's request body (bytes), concatenated from its pieces."""
    refs = f["piece_refs"][call["request_off"]:call["request_off"] + call["request_len"]]
    out = b""
    for r in refs:
        p = f["pieces"][int(r)]
        out += f["text"][p["text_off"]:p["text_off"] + p["text_len"]].tobytes()
    return out


def check_file(path, n_keys=None):
    """Every invariant a reader relies on; returns {table: DataFrame}."""
    with h5py.File(path, "r") as f:
        assert f.attrs["format_version"] == 2
        assert f.attrs["checkpoint_state"] == "clean"
        for a in ("campaign", "created_utc", "config_sha256", "suite_sha256", "meaning_sha256"):
            assert isinstance(f.attrs[a], str)
        heap = f["text"]
        assert heap.dtype == np.uint8 and heap.ndim == 1
        assert heap.chunks is not None and heap.compression == "gzip"
        size = heap.shape[0]
        frames = {}
        for t in TABLES:
            ds = f[t]
            assert ds.ndim == 1 and ds.maxshape == (None,) and ds.chunks is not None
            assert ds.compression == "gzip"
            arr = ds[:]
            frames[t] = pd.DataFrame(arr)
            for name in TEXT_REFS[t]:
                off, ln = arr[name + "_off"], arr[name + "_len"]
                assert (off >= 0).all() and (ln >= 0).all() and (off + ln <= size).all(), (t, name)
                assert ((ln > 0) | (off == 0)).all()
        blob = heap[:].tobytes()
        for t in TABLES:  # every text decodes as UTF-8
            arr = f[t][:]
            for name in TEXT_REFS[t]:
                for o, n in zip(arr[name + "_off"], arr[name + "_len"]):
                    blob[o:o + n].decode("utf-8")
        # requests: rows of /piece_refs, each a /pieces row; every piece stored once
        refs = f["piece_refs"][:]
        assert refs.dtype == np.int64 and f["piece_refs"].compression == "gzip"
        pieces = f["pieces"][:]
        assert ((refs >= 0) & (refs < len(pieces))).all()
        assert len(set(pieces["sha256"])) == len(pieces) and (pieces["text_len"] > 0).all()
        for p in pieces:
            o, n = int(p["text_off"]), int(p["text_len"])
            assert hashlib.sha256(blob[o:o + n]).hexdigest() == p["sha256"].decode()
        calls = f["calls"][:]
        off, ln = calls["request_off"], calls["request_len"]
        assert (off >= 0).all() and (ln >= 0).all() and (off + ln <= len(refs)).all()
    tasks = frames["tasks"]
    assert (tasks.task_id.values == np.arange(1, len(tasks) + 1)).all()
    # exactly one final per key, on its newest attempt; attempts 1..k
    g = tasks.groupby("key")
    assert (g.final.sum() == 1).all()
    assert (tasks[tasks.final == 1].attempt.values
            == g.attempt.max().reindex(tasks[tasks.final == 1].key).values).all()
    for _, grp in g:
        assert sorted(grp.attempt) == list(range(1, len(grp) + 1))
    assert not tasks.duplicated(["key", "attempt"]).any()
    if n_keys is not None:
        assert tasks.key.nunique() == n_keys
    # row links
    for t, first, n in (("calls", "calls_row", "n_calls"), ("execs", "execs_row", "n_execs"),
                        ("checks", "checks_row", "n_checks")):
        rows = frames[t]
        assert tasks[n].sum() == len(rows)
        ids = np.repeat(tasks.task_id.values, tasks[n].values)
        starts = tasks[first].values
        assert (np.diff(starts) >= 0).all()
        assert (rows.task_id.values == ids).all()
    return frames


def test_layout_matches_the_document(tmp_path):
    out = tmp_path / "r.h5"
    synth(out, "--tasks", 120, "--seed", 5, "--checkpoint-every", 7)
    doc = doc_columns()
    assert set(doc) == set(TABLES)
    with h5py.File(out, "r") as f:
        for t in TABLES:
            got = [(n, f[t].dtype[n].str.replace("|", "") if f[t].dtype[n].kind != "S"
                    else "S%d" % f[t].dtype[n].itemsize) for n in f[t].dtype.names]
            want = [(n, d.replace("|", "")) for n, d in doc[t]]
            assert got == want, t
        assert set(f.keys()) == set(TABLES) | {"text", "piece_refs"}
    frames = check_file(out, n_keys=120)
    tasks = frames["tasks"]
    assert set(tasks.status.str.decode("utf-8")) >= {"success", "failed_validation", "error_api"}
    assert (tasks.attempt > 1).any()
    # pandas as the contract says
    with h5py.File(out, "r") as f:
        df = pd.DataFrame(f["tasks"][:])
    assert len(df) == len(tasks) and "final" in df.columns


def test_inline_error_summary_and_full_text(tmp_path):
    out = tmp_path / "r.h5"
    synth(out, "--tasks", 80, "--seed", 2)
    with h5py.File(out, "r") as f:
        t = f["tasks"][:]
        heap = f["text"]
        long = 0
        for row in t[t["error_summary_len"] > 0]:
            full = heap[row["error_summary_off"]:row["error_summary_off"] + row["error_summary_len"]]
            full = full.tobytes()
            inline = row["error_summary"]
            if len(full) <= 256:
                assert inline == full
            else:
                long += 1
                assert inline.endswith(b"...") and full.startswith(inline[:-3])
                inline.decode("utf-8")  # cut on a character boundary
        assert long > 0


def test_journal_agrees_with_file(tmp_path):
    out = tmp_path / "r.h5"
    synth(out, "--tasks", 60, "--seed", 9, "--checkpoint-every", 4)
    recs = read_journal(str(out) + ".journal")
    assert recs[0][0] == "H" and recs[0][1]["campaign"] == "synth"
    tasks = [p for t, p, _ in recs if t == "T"]
    pieces = {}  # every piece a request names is in its record or an earlier one
    for p in tasks:
        for h, text in p["pieces"]:
            assert hashlib.sha256(text.encode()).hexdigest() == h and h not in pieces
            pieces[h] = text.encode()
        assert all(h in pieces for lst in p["requests"] for h in lst)
    with h5py.File(out, "r") as f:
        rows = f["tasks"][:]
        heap = f["text"]
        assert f.attrs["journal_offset"] == os.path.getsize(str(out) + ".journal")
        assert f.attrs["journal_records"] == len(recs)
        assert len(rows) == len(tasks)
        calls = f["calls"][:]
        for p, row in zip(tasks, rows):
            assert row["task_id"] == p["task_id"] and row["key"].decode() == p["key"]
            assert row["status"].decode() == p["status"] and row["attempt"] == p["attempt"]
            assert row["prompt_tokens"] == p["prompt_tokens"]
            for i, c in enumerate(p["calls"]):  # every request rebuilds exactly
                cr = calls[row["calls_row"] + i]
                req = rebuild(f, cr)
                assert c["request"] is None  # the journal names its pieces instead
                assert req == b"".join(pieces[h] for h in p["requests"][i])
        runs = f["runs"][:]
        assert len(runs) == 1 and runs[0]["exit_code"] == 0 and not np.isnan(runs[0]["ended_utc"])


def test_reader_between_checkpoints_sees_a_complete_file(tmp_path):
    out = tmp_path / "r.h5"
    p = subprocess.Popen([SYNTH, str(out), "--tasks", "400", "--sleep-ms", "4",
                          "--checkpoint-every", "10", "--text-kb", "2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen, busy, sizes = 0, 0, set()
    deadline = time.time() + 60
    while p.poll() is None and time.time() < deadline:
        if not os.path.exists(out):
            time.sleep(0.01)
            continue
        try:
            frames = check_file(out)
        except OSError as e:  # a checkpoint holds the file for a moment
            assert "lock" in str(e).lower(), e
            busy += 1
            continue
        seen += 1
        sizes.add(len(frames["tasks"]))
        time.sleep(0.02)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert seen >= 5 and len(sizes) >= 3, (seen, busy, sizes)
    check_file(out, n_keys=400)


def test_reader_holding_the_file_open_does_not_lose_updates(tmp_path):
    out = tmp_path / "r.h5"
    synth(out, "--tasks", 20)
    with h5py.File(out, "r") as f:  # a notebook that keeps the file open
        n_before = len(f["tasks"])
        synth(out, "--tasks", 50)  # resumes: 30 more keys; must update around the reader
        assert len(f["tasks"]) == n_before  # the reader keeps its consistent view
    frames = check_file(out, n_keys=50)
    assert len(frames["runs"]) == 2
    assert not any(n.endswith(".tmp") for n in os.listdir(tmp_path))


def test_kill_9_and_resume_lose_and_duplicate_nothing(tmp_path):
    ref = tmp_path / "ref.h5"
    synth(ref, "--tasks", 150, "--seed", 3)
    out = tmp_path / "killed.h5"
    rnd = random.Random(11)
    kills = 0
    # 150 tasks at >= 20 ms each take >= 3 s; eight kills within 0.05-0.3 s of
    # each start cannot get through them, however fast the machine (at 3 ms a
    # task a quiet machine finished before the fourth kill).
    for _ in range(8):
        p = subprocess.Popen([SYNTH, str(out), "--tasks", "150", "--seed", "3", "--sleep-ms", "20",
                              "--checkpoint-every", "5"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rnd.uniform(0.05, 0.3))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        p.wait()
    assert kills >= 4
    r = synth(out, "--tasks", 150, "--seed", 3)
    assert "skipped" in r.stdout
    assert not any(n.endswith(".tmp") for n in os.listdir(tmp_path))  # stale temps removed
    frames = check_file(out, n_keys=150)
    want = check_file(ref, n_keys=150)
    cols = ["key", "attempt", "status", "iterations", "prompt_tokens", "completion_tokens",
            "error_summary", "started_utc", "n_calls", "n_execs", "n_checks"]

    def finals(fr):
        t = fr["tasks"]
        return t[t.final == 1][cols].sort_values("key").reset_index(drop=True)

    pd.testing.assert_frame_equal(finals(frames), finals(want))
    # the final attempts' texts are identical too
    with h5py.File(out, "r") as a, h5py.File(ref, "r") as b:
        def texts(f, key):
            t = f["tasks"][:]
            row = t[(t["key"] == key) & (t["final"] == 1)][0]
            c = f["calls"][row["calls_row"]:row["calls_row"] + row["n_calls"]]
            return [f["text"][o:o + n].tobytes() for o, n in zip(c["response_off"], c["response_len"])]
        keys = set(a["tasks"]["key"][:])
        for key in sorted(keys)[:: 10]:
            assert texts(a, key) == texts(b, key)
    # the journal and the file agree
    recs = read_journal(str(out) + ".journal")
    assert len([1 for t, _, _ in recs if t == "T"]) == len(frames["tasks"])
    assert len([1 for t, _, _ in recs if t == "R"]) == len(frames["runs"])


def test_damaged_file_is_rebuilt_on_resume(tmp_path):
    out = tmp_path / "r.h5"
    synth(out, "--tasks", 40)
    good = check_file(out)["tasks"]
    with open(out, "r+b") as f:  # scribble over the superblock
        f.write(b"\0" * 512)
    with pytest.raises(OSError):
        h5py.File(out, "r")
    synth(out, "--tasks", 40)
    again = check_file(out, n_keys=40)["tasks"]
    pd.testing.assert_frame_equal(good.drop(columns=["error_summary_off"]),
                                  again.drop(columns=["error_summary_off"]))


def test_corrupted_journal_is_refused(tmp_path):
    out = tmp_path / "r.h5"
    synth(out, "--tasks", 10)
    j = str(out) + ".journal"
    recs = read_journal(j)
    with open(j, "r+b") as f:
        f.seek(recs[3][2] + 20)
        b = f.read(1)
        f.seek(recs[3][2] + 20)
        f.write(bytes([b[0] ^ 1]))
    r = synth(out, "--tasks", 10, check=False)
    assert r.returncode == 3
    assert f"record 3 at byte {recs[3][2]}" in r.stderr and "corrupted" in r.stderr
