#!/usr/bin/env python3
"""compare_plots.py — the comparison plots `llm4hep validate` and `llm4hep run
--validate` draw for each array check, as the original framework's plots/
held: per compared column the candidate's histogram over the reference's and
their difference, so a failed column is seen, not only read.

Run by the binary (src/cli/compare.c) with file descriptors it opened: each
candidate array beneath the outputs' folder with no link followed, the
reference array, and the output directory (made beneath the folder with no
link followed). The candidate is hostile input: read with allow_pickle=False,
numeric dtypes only, at most 2 dimensions, and a size cap checked on the
header before any data is read. Nothing is opened by path.

For each --array NAME:CAND_FD:REF_FD it writes into the output directory
  <prefix><name>__col<NN>.png   overlaid histograms (top) and candidate minus
                                reference counts (bottom), one per column
  <prefix><name>.csv            the histograms: column,bin,lo,hi,candidate,
                                reference,difference (finite values only)
and prints one line per array. Exit 0, 2 bad usage, 1 an array it refuses
(named on stderr; the others are still drawn)."""
import argparse
import csv
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from l4h_args import Once  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

BINS = 50


class Refused(Exception):
    pass


def load(fd, what, max_bytes):
    """The array in the open file fd, or Refused saying why."""
    st = os.fstat(fd)
    if not (st.st_mode & 0o170000) == 0o100000:
        raise Refused("%s is not a regular file" % what)
    if st.st_size > max_bytes:
        raise Refused("%s is %d bytes, over the cap of %d" % (what, st.st_size, max_bytes))
    f = os.fdopen(os.dup(fd), "rb")
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise Refused("%s: .npy version %s" % (what, version))
        if dtype.hasobject or dtype.kind not in "biuf" or dtype.fields is not None:
            raise Refused("%s: dtype %s is not a plain number" % (what, dtype))
        if len(shape) > 2 or any(n < 0 for n in shape):
            raise Refused("%s: shape %s (at most 2 dimensions)" % (what, shape))
        if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize > max_bytes:
            raise Refused("%s: shape %s is over the cap of %d bytes" % (what, shape, max_bytes))
        f.seek(0)
        a = np.lib.format.read_array(f, allow_pickle=False)
    except ValueError as e:
        raise Refused("%s: not a readable .npy file (%s)" % (what, e))
    finally:
        f.close()
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(-1, 1) if a.ndim < 2 else a


def out_file(dir_fd, name, mode="wb"):
    """A new file name beneath dir_fd, replacing whatever is there, never
    written through a link."""
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=dir_fd)
    return os.fdopen(fd, mode)


def compare(name, cand, ref, dir_fd, prefix, max_columns):
    ncol = min(cand.shape[1], ref.shape[1], max_columns)
    notes = []
    if cand.shape[1] != ref.shape[1]:
        notes.append("columns: candidate %d, reference %d" % (cand.shape[1], ref.shape[1]))
    if cand.shape[0] != ref.shape[0]:
        notes.append("rows: candidate %d, reference %d" % (cand.shape[0], ref.shape[0]))
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in os.path.basename(name))
    safe = safe[:-4] if safe.endswith(".npy") else safe
    rows = []
    # one figure, redrawn per column (a new figure per column costs more than the drawing)
    fig, (top, bot) = plt.subplots(2, 1, figsize=(6, 5), sharex=True,
                                   gridspec_kw={"height_ratios": [3, 1]})
    for k in range(ncol):
        c, r = cand[:, k], ref[:, k]
        cf, rf = c[np.isfinite(c)], r[np.isfinite(r)]
        both = np.concatenate([cf, rf])
        lo, hi = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, BINS + 1)
        hc, _ = np.histogram(cf, bins=edges)
        hr, _ = np.histogram(rf, bins=edges)
        diff = hc - hr
        for b in range(BINS):
            rows.append([k, b, repr(float(edges[b])), repr(float(edges[b + 1])), int(hc[b]),
                         int(hr[b]), int(diff[b])])
        same = c.shape == r.shape and np.array_equal(c, r, equal_nan=True)
        top.clear()
        bot.clear()
        top.stairs(hr, edges, label="reference (%d)" % rf.size, color="black")
        top.stairs(hc, edges, label="candidate (%d)" % cf.size, color="tab:red", linestyle="--")
        top.set_title("%s column %d%s" % (name, k, "" if same else "  (differs)"))
        top.set_ylabel("entries")
        top.legend(fontsize=8)
        bot.stairs(diff, edges, color="tab:blue", fill=True)
        bot.axhline(0, color="black", linewidth=0.5)
        bot.set_ylabel("cand - ref")
        bot.set_xlabel("value (finite; NaN: cand %d, ref %d)" % (c.size - cf.size, r.size - rf.size))
        with out_file(dir_fd, "%s%s__col%02d.png" % (prefix, safe, k)) as f:
            fig.savefig(f, format="png", dpi=80)
    plt.close(fig)
    with out_file(dir_fd, "%s%s.csv" % (prefix, safe), "w") as f:
        w = csv.writer(f)
        w.writerow(["column", "bin", "lo", "hi", "candidate", "reference", "difference"])
        w.writerows(rows)
    print("%s: %d column plots%s" % (name, ncol, " (" + "; ".join(notes) + ")" if notes else ""))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="compare_plots.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--array", action="append", default=[], metavar="NAME:CAND_FD:REF_FD",
                    help="one array check (repeat for several)")
    ap.add_argument("--out-fd", type=int, required=True, action=Once,
                    help="the output directory, opened by the caller")
    ap.add_argument("--prefix", default="", action=Once, help="file name prefix (e.g. the step)")
    ap.add_argument("--max-bytes", type=int, default=1 << 30, action=Once,
                    help="refuse an array larger than this (default 1 GiB)")
    ap.add_argument("--max-columns", type=int, default=64, action=Once,
                    help="plot at most this many columns per array (default 64)")
    a = ap.parse_args(argv)
    rc = 0
    for spec in a.array:
        try:
            name, cfd, rfd = spec.rsplit(":", 2)
            cfd, rfd = int(cfd), int(rfd)
        except ValueError:
            ap.error("--array %s: expected NAME:CAND_FD:REF_FD" % spec)
        try:
            ref = load(rfd, "reference " + name, a.max_bytes)
            cand = load(cfd, "candidate " + name, a.max_bytes)
            compare(name, cand, ref, a.out_fd, a.prefix, a.max_columns)
        except Refused as e:
            print("compare_plots: %s: no plots" % e, file=sys.stderr)
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
