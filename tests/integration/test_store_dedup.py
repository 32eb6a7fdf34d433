"""Transcripts stored once (issue 17 section 2): a request body is cut into
pieces and each distinct piece is stored once by SHA-256, in the journal
and in the results file. Real `llm4hep sweep` under MPI, real libcurl to the
loopback test server (tests/server), the file read back with h5py, through
scripts/llm4hep.py, through the C reader (replay compares what it would
send with the rebuilt request, byte for byte), and a resumed writer after a
torn journal tail (tests/tools/store_synth --chat)."""
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib

import h5py
import pytest

import campaign_util as cu  # noqa: E402
from conftest import SRC, TOOLS
from llm_testkit import LLMServer  # noqa: E402
import llm4hep  # noqa: E402

SYNTH = os.path.join(TOOLS, "store_synth")
ITERS = 4

# A model that talks for ITERS iterations: the supervisor says CONTINUE
# until the last review, the coder answers with code each time (quotes,
# backslashes, non-ASCII and newlines: everything JSON escapes).
CHATTY = """usage: {prompt_tokens: 90, completion_tokens: 12}
steps:
  double:
    supervisor: ["Read the input and double it. Use \\"json\\" \\\\ paths; Higgs → γγ.\\nVERDICT: CONTINUE",
                 "Print more detail.\\nVERDICT: CONTINUE", "Once more, with the sum.\\nVERDICT: CONTINUE",
                 "Nearly: keep going.\\nVERDICT: CONTINUE", "Correct.\\nVERDICT: DONE"]
    coder: [{code_file: answers/double.py}]
  square:
    supervisor: ["Square the staged answer.\\nVERDICT: CONTINUE", "Again.\\nVERDICT: CONTINUE",
                 "And again.\\nVERDICT: CONTINUE", "Last time.\\nVERDICT: CONTINUE", "Correct.\\nVERDICT: DONE"]
    coder: [{code_file: answers/square.py}]
"""


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    d = tmp_path_factory.mktemp("scripted")
    shutil.copytree(os.path.join(cu.FIXTURE, "scripted", "answers"), d / "answers")
    (d / "chatty.yml").write_text(CHATTY, encoding="utf-8")
    with LLMServer(scripted_dir=str(d)) as s:
        yield s


@pytest.fixture(scope="module")
def campaign(srv):
    """A 2-step x 2-trial campaign of ITERS iterations each; (h5 path, bodies the server got)."""
    cfg = cu.make_campaign(models=("scripted/chatty",), trials=2, name="dedup",
                           endpoints="demo: {base_url: '%s'}" % srv.base_url,
                           max_iterations=ITERS)
    since = max([q["seq"] for q in srv.requests()] or [0])
    r = cu.run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    h5 = cu.output_of(cfg)
    rows = cu.final_rows(h5)
    assert len(rows) == 4 and all(rows["success"]), rows["status"]
    assert (rows["iterations"] == ITERS).all(), rows["iterations"]
    sent = [q["body"].encode("utf-8") for q in srv.requests(since)
            if q["path"].endswith("/chat/completions")]
    return h5, sent


def rebuild(f, call):
    """docs/results-format.md's recipe, verbatim."""
    refs = f["piece_refs"][call["request_off"]:call["request_off"] + call["request_len"]]
    out = b""
    for r in refs:
        p = f["pieces"][r]
        out += f["text"][p["text_off"]:p["text_off"] + p["text_len"]].tobytes()
    return out


def test_every_request_rebuilds_byte_for_byte_as_the_server_received_it(campaign):
    h5, sent = campaign
    with h5py.File(h5, "r") as f:
        assert f.attrs["format_version"] == 2
        calls = f["calls"][:]
        got = [rebuild(f, c) for c in calls]
    assert len(got) == len(sent) >= 4 * (2 * ITERS + 1)
    assert sorted(got) == sorted(sent)  # the same bytes, every one
    # the bodies really carry what JSON escapes, so the test could fail
    assert any(b'\\"json\\"' in b and "γγ".encode() in b for b in sent)


def test_python_reader_rebuilds_the_same_bytes(campaign):
    h5, sent = campaign
    r = llm4hep.open_results(h5)
    got = [r.request(c).encode("utf-8") for _, c in r.calls.iterrows()]
    assert sorted(got) == sorted(sent)
    w = r.with_text(r.calls, "request")
    assert sorted(x.encode("utf-8") for x in w.request) == sorted(sent)
    t = r.transcript(int(r.final.task_id.iloc[0]))
    assert "Print more detail." in t  # the newest message of a rebuilt request


def test_each_distinct_piece_is_stored_once(campaign):
    h5, sent = campaign
    with h5py.File(h5, "r") as f:
        pieces = f["pieces"][:]
        refs = f["piece_refs"][:]
        heap = f["text"][:].tobytes()
        texts = [heap[p["text_off"]:p["text_off"] + p["text_len"]] for p in pieces]
    assert len(set(texts)) == len(texts) and len(refs) > 2 * len(pieces)
    # the supervisor's system prompt: sent in every supervisor request, stored once
    system = [t for t in texts if b'"role":"system"' in t]
    assert system and len(system) <= 4  # one per distinct system message (supervisor first/later, coder)
    stored = sum(len(t) for t in texts)
    assert stored * 3 < sum(len(b) for b in sent), (stored, sum(len(b) for b in sent))


def test_replay_rebuilds_the_recorded_requests_exactly(campaign, tmp_path):
    """The replay backend reads the file through the C reader and notes any
    byte where the request it would send differs from the recorded one."""
    h5, sent = campaign
    cfg = cu.make_campaign(models=("scripted/chatty",), trials=2, name="dedup-replay",
                           endpoints="demo: {provider: replay, file: '%s'}" % h5,
                           max_iterations=ITERS)
    r = cu.run_sweep(cfg, 2)
    assert r.returncode == 0, r.stdout + r.stderr
    out = cu.output_of(cfg)
    rows = cu.final_rows(out)
    assert len(rows) == 4 and all(rows["success"]), rows["status"]
    with h5py.File(out, "r") as f:
        calls = f["calls"][:]
        logs = [cu.text(f, c, "attempt_log") for c in calls]
        replayed = [rebuild(f, c) for c in calls]
    assert len(calls) == len(sent)
    # A supervisor's review holds the new run's timings (it ran again): those
    # requests may differ there. Every other request is the same conversation,
    # so replay must find the recorded bytes exactly.
    same = [(c["agent"], int(c["call"]), x) for c, x in zip(calls, logs)
            if c["agent"] == b"coder" or int(c["call"]) == 0]
    assert len(same) > len(calls) // 2
    assert not [s for s in same if "request differs" in s[2]], same
    assert len(replayed) == len(sent)


def test_show_prints_the_rebuilt_conversation(campaign):
    h5, _ = campaign
    rows = cu.final_rows(h5)
    r = subprocess.run([cu.BIN, "show", h5, str(int(rows[0]["task_id"]))], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Print more detail." in r.stdout and "Once more, with the sum." in r.stdout


# ------------------------------------------------ the journal and resuming

def journal_records(path):
    data = open(path, "rb").read()
    pos, out = 0, []
    while pos + 16 <= len(data):
        magic, typ, flags, length, crc = struct.unpack_from("<4sc3sII", data, pos)
        payload = data[pos + 16:pos + 16 + length]
        if magic != b"L4HJ" or len(payload) < length or zlib.crc32(data[pos:pos + 12] + payload) != crc:
            break
        body = zlib.decompress(payload[4:]) if flags[0] == 1 else payload
        out.append((typ.decode(), flags, body, pos, payload))
        pos += 17 + length
    return out


def synth(out, *args):
    r = subprocess.run([SYNTH, str(out), "--chat", *map(str, args)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def requests_by_key(h5):
    with h5py.File(h5, "r") as f:
        tasks, calls = f["tasks"][:], f["calls"][:]
        out = {}
        for t in tasks:
            rows = calls[t["calls_row"]:t["calls_row"] + t["n_calls"]]
            out[(t["key"], int(t["attempt"]))] = [rebuild(f, c) for c in rows]
        return out


def test_resume_after_a_torn_record_loses_nothing_and_stores_each_piece_once(tmp_path):
    straight = tmp_path / "straight.h5"
    synth(straight, "--tasks", 24, "--seed", 3)
    want = requests_by_key(straight)

    out = tmp_path / "resumed.h5"
    synth(out, "--tasks", 12, "--seed", 3, "--checkpoint-every", 5)
    jpath = str(out) + ".journal"
    recs = journal_records(jpath)
    last = recs[-1]
    # a crash while the next task record was being written: a torn tail
    # (its pieces never reached the disk; nothing may point at them)
    with open(jpath, "ab") as f:
        f.write(b"L4HJT\0\0\0" + struct.pack("<II", 5000, 0) + b'{"task_id":99,"pie')
    synth(out, "--tasks", 24, "--seed", 3, "--checkpoint-every", 5)
    got = requests_by_key(out)
    assert got == want  # every request of every attempt, byte for byte, once
    with h5py.File(out, "r") as f:
        pieces = f["pieces"][:]
        assert len(set(pieces["sha256"])) == len(pieces)
        heap = f["text"][:].tobytes()
        for p in pieces:
            assert hashlib.sha256(heap[p["text_off"]:p["text_off"] + p["text_len"]]).hexdigest() \
                == p["sha256"].decode()
    # the resumed writer wrote again, in its first record, the shared prompts
    # it had written before: each task record carries what it names
    recs = journal_records(jpath)
    defined = set()
    for typ, _, payload, pos, _ in recs:
        if typ != "T":
            continue
        j = json.loads(payload)
        for h, text in j["pieces"]:
            assert hashlib.sha256(text.encode("utf-8")).hexdigest() == h
            defined.add(h)
        for call, lst in zip(j["calls"], j["requests"]):
            assert all(h in defined for h in lst or []), pos
            # an answer's long strings (256 bytes or more) are pieces the
            # store takes from the answer itself: later requests name them
            for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', call["response"] or ""):
                body = m.group(1).encode("utf-8")
                if len(body) >= 256:
                    defined.add(hashlib.sha256(body).hexdigest())
    assert last[3] < recs[-1][3]


def test_a_record_naming_a_piece_nobody_wrote_is_refused(tmp_path):
    """A journal whose task record names a piece no record holds (a damaged
    or hand-made journal) is an error naming the record, never a request
    rebuilt from the wrong bytes."""
    out = tmp_path / "r.h5"
    synth(out, "--tasks", 3, "--seed", 5)
    jpath = str(out) + ".journal"
    recs = journal_records(jpath)
    typ, flags, payload, pos, stored = [r for r in recs if r[0] == "T"][-1]
    j = json.loads(payload)
    j["pieces"] = [p for p in j["pieces"] if '"role":"system"' not in p[1]]
    victim = {h for h, _ in j["pieces"]}
    assert victim
    j["pieces"] = []  # every new piece gone: the requests name missing ones
    new = json.dumps(j, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    head = b"L4HJT\0\0\0" + struct.pack("<I", len(new))
    rec = head + struct.pack("<I", zlib.crc32(head + new)) + new + b"\n"
    data = open(jpath, "rb").read()
    end = pos + 17 + len(stored)
    open(jpath, "wb").write(data[:pos] + rec + data[end:])
    os.unlink(out)  # rebuilt from the journal
    r = subprocess.run([SYNTH, str(out), "--chat", "--tasks", "3", "--seed", "5"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "names a piece that no record before it" in r.stderr, r.stderr
    assert "byte %d" % pos in r.stderr, r.stderr


# ------------------------------------------------------- a damaged file

def damaged_copy(tmp_path, what):
    src = tmp_path / "src.h5"
    if not src.exists():
        synth(src, "--tasks", 4, "--seed", 8)
    out = tmp_path / f"{what}.h5"
    shutil.copy(src, out)
    with h5py.File(out, "r+") as f:
        if what == "ref":  # a request names a piece beyond /pieces
            refs = f["piece_refs"]
            refs[0] = len(f["pieces"]) + 7
        elif what == "negref":
            f["piece_refs"][0] = -1
        elif what == "piece":  # a piece of the first request lies outside /text
            p = f["pieces"]
            i = int(f["piece_refs"][int(f["calls"][0]["request_off"])])
            row = p[i]
            row["text_off"] = 2**62
            p[i] = row
        elif what == "list":  # a call's piece list runs past /piece_refs
            c = f["calls"]
            row = c[0]
            row["request_len"] = len(f["piece_refs"]) + 1
            c[0] = row
    return str(out)


@pytest.mark.parametrize("what", ["ref", "negref", "piece", "list"])
def test_damaged_pieces_are_the_damaged_file_error(tmp_path, what):
    """A crafted file whose piece refs point outside their tables: `show`
    (the C reader) ends with exit 2 and "damaged file", llm4hep.py raises a
    ValueError saying so; never bytes from the wrong place or a crash."""
    h5 = damaged_copy(tmp_path, what)
    r = subprocess.run([cu.BIN, "show", h5, "1"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, (r.returncode, r.stdout[-1000:], r.stderr)
    assert "damaged file" in r.stderr, r.stderr
    assert "AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr
    res = llm4hep.open_results(h5)
    with pytest.raises(ValueError, match="damaged file"):
        res.request(res.calls.iloc[0])
    with pytest.raises(ValueError, match="damaged file"):
        res.transcript(1)


def test_a_file_of_another_format_is_rebuilt_on_resume(tmp_path):
    """A results file that says format_version 1 (request_off/_len a text
    ref there) is never appended to in format 2: the resumed writer rebuilds
    it from the journal, and every request reads back the same."""
    out = tmp_path / "r.h5"
    synth(out, "--tasks", 6, "--seed", 2)
    want = requests_by_key(out)
    with h5py.File(out, "r+") as f:
        f.attrs["format_version"] = 1
    synth(out, "--tasks", 8, "--seed", 2)
    with h5py.File(out, "r") as f:
        assert f.attrs["format_version"] == 2
    got = requests_by_key(out)
    assert {k: v for k, v in got.items() if k in want} == want and len(got) > len(want)
