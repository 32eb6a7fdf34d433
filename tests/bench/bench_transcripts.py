"""Benchmark: transcripts that do not repeat themselves (issue 17 section 2).

A campaign of real-length conversations (tests/tools/store_synth --chat:
5-10 iterations, a supervisor and a coder call each, every request the chat
body of the whole conversation so far, the same system and step prompts in
every task of a step; code, outputs and instructions are line-aligned slices
of real text: the repository's Python and Markdown) is written through the
real store API. Measured in one run:

  sent        bytes of every request body as sent (what format 1 stored)
  results     the results file (HDF5): ratio sent / file
  journal     the journal: ratio sent / journal
  baseline    the same records as plain JSON lines with requests inline
              (the journal's format before pieces): ratio sent / baseline

and every request is rebuilt from the file (the docs/results-format.md
recipe, in bulk) and hashed in /calls order against the hash of the bodies
as sent: a mismatch fails the benchmark. Quick mode also rebuilds a sample
through scripts/llm4hep.py.

Quick mode (default, CI): 40 task keys, seconds.
Full mode (LLM4HEP_BENCH_FULL=1): 2,000 task keys.
Targets (issue 17): results >= 10:1, journal >= 5:1 against the requests as sent.
"""

import glob
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
import zlib

import h5py
import numpy as np

FULL = os.environ.get("LLM4HEP_BENCH_FULL") == "1"
TOOLS = os.environ.get("LLM4HEP_TOOLS_DIR") or os.path.join(
    os.environ.get("LLM4HEP_BUILD_DIR", "build"), "tests", "tools")
SRC = os.environ.get("LLM4HEP_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
N = 2000 if FULL else 40
EVERY = 16

sys.path.insert(0, os.path.join(SRC, "scripts"))
import llm4hep  # noqa: E402


def corpus(path):
    """Real text to draw messages from: the repository's code and prose."""
    files = sorted(glob.glob(os.path.join(SRC, "reference", "**", "*.py"), recursive=True))
    files += sorted(glob.glob(os.path.join(SRC, "docs", "*.md")))
    files += sorted(glob.glob(os.path.join(SRC, "prompts", "*.txt")))
    with open(path, "wb") as out:
        for f in files:
            with open(f, "rb") as fh:
                out.write(fh.read())
    return os.path.getsize(path)


def synth(*args):
    t0 = time.perf_counter()
    r = subprocess.run([os.path.join(TOOLS, "store_synth"), *map(str, args)],
                       capture_output=True, text=True, timeout=7200)
    if r.returncode != 0:
        sys.exit(f"store_synth failed: {r.stderr}")
    m = re.search(r"requests (\d+) bytes as sent, sha256 ([0-9a-f]{64})", r.stdout)
    if not m:
        sys.exit(f"store_synth printed no request line: {r.stdout}")
    return int(m.group(1)), m.group(2), time.perf_counter() - t0


def rebuild_all(h5):
    """Every request body in /calls order, rebuilt in bulk; (sha256, count)."""
    with h5py.File(h5, "r") as f:
        heap = f["text"][:].tobytes()
        pieces = f["pieces"][:]
        refs = f["piece_refs"][:]
        calls = f["calls"][:]
    texts = [heap[o:o + n] for o, n in zip(pieces["text_off"], pieces["text_len"])]
    h = hashlib.sha256()
    for off, n in zip(calls["request_off"], calls["request_len"]):
        for r in refs[off:off + n]:
            h.update(texts[r])
    return h.hexdigest(), len(calls)


def main():
    root = "/dev/shm" if os.path.isdir("/dev/shm") else None
    tmp = tempfile.mkdtemp(prefix="bench-transcripts-", dir=root)
    try:
        text = os.path.join(tmp, "corpus.txt")
        csize = corpus(text)
        h5 = os.path.join(tmp, "c.h5")
        sent, want, t_store = synth(h5, "--chat", "--corpus", text, "--tasks", N,
                                    "--checkpoint-every", EVERY)
        base = os.path.join(tmp, "baseline.jsonl")
        sent_b, want_b, t_base = synth(base, "--chat", "--corpus", text, "--tasks", N, "--baseline")
        if (sent_b, want_b) != (sent, want):
            sys.exit("the baseline's records differ from the store's")
        got, n_calls = rebuild_all(h5)
        if got != want:
            sys.exit(f"requests rebuilt from {h5} differ from those sent: {got} != {want}")
        if not FULL:  # the physicist's reader, on a sample
            r = llm4hep.open_results(h5)
            w = r.with_text(r.calls.head(60), "request")
            for body in w.request:
                if not body.startswith('{"model":'):
                    sys.exit("llm4hep.py rebuilt a request that is not a chat body")
        file_b, journal_b, base_b = (os.path.getsize(h5), os.path.getsize(h5 + ".journal"),
                                     os.path.getsize(base))
        with h5py.File(h5, "r") as f:
            n_pieces, n_refs = len(f["pieces"]), len(f["piece_refs"])
            n_tasks = len(f["tasks"])
            piece_bytes = int(np.sum(f["pieces"]["text_len"]))
            # what the requests occupy in the file: /pieces, /piece_refs and the
            # pieces' texts (deflated as the heap is: level 4, 64 KiB chunks)
            heap = f["text"][:].tobytes()
            p = f["pieces"][:]
            # pieces whose text is their own (not inside an answer's text)
            c = f["calls"][:]
            order = np.argsort(c["response_off"])
            r_off, r_end = c["response_off"][order], (c["response_off"] + c["response_len"])[order]
            k = np.searchsorted(r_off, p["text_off"], side="right") - 1
            inside = (k >= 0) & (p["text_off"] + p["text_len"] <= r_end[np.maximum(k, 0)])
            ptext = b"".join(heap[o:o + n] for o, n, i in zip(p["text_off"], p["text_len"], inside)
                             if not i)
            req_b = (f["pieces"].id.get_storage_size() + f["piece_refs"].id.get_storage_size() +
                     sum(len(zlib.compress(ptext[i:i + 65536], 4))
                         for i in range(0, len(ptext), 65536)))
        print(f"bench_transcripts: {'full' if FULL else 'quick'} mode, {N} task keys "
              f"({n_tasks} attempts, {n_calls} requests), corpus {csize / 1e3:.0f} kB")
        print(f"  requests as sent:       {sent / 1e6:9.1f} MB  ({sent / n_calls / 1e3:.1f} kB "
              "per request on average)")
        print(f"  distinct pieces:        {piece_bytes / 1e6:9.1f} MB  ({n_pieces} pieces, "
              f"{n_refs} refs: {n_refs / n_calls:.1f} per request)")
        print(f"  requests in the file:   {req_b / 1e6:9.1f} MB  ratio sent/stored  "
              f"{sent / req_b:5.1f}:1  (/pieces, /piece_refs, the texts of pieces not inside an "
              "answer, deflated)")
        print(f"  results file:           {file_b / 1e6:9.1f} MB  ratio sent/file    "
              f"{sent / file_b:5.1f}:1  (target >= 10:1)")
        print(f"  journal:                {journal_b / 1e6:9.1f} MB  ratio sent/journal "
              f"{sent / journal_b:5.1f}:1  (target >= 5:1)")
        print(f"  baseline (JSON lines, requests inline): {base_b / 1e6:.1f} MB  ratio "
              f"{sent / base_b:.1f}:1; journal/baseline {journal_b / base_b:.3f}")
        print(f"  write: store {t_store:.2f} s, baseline {t_base:.2f} s "
              f"({t_store / n_tasks * 1000:.1f} ms vs {t_base / n_tasks * 1000:.1f} ms per task "
              "incl. generating it)")
        print("  every request rebuilt byte for byte: yes (sha256 over all bodies in /calls order)")
    finally:
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
