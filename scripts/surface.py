#!/usr/bin/env python3
"""Which rooms use each public function: a public header should hold only what
other rooms use (include/llm4hep/<room>.h is a room's whole outside surface).

    scripts/surface.py [REPO]            per header: public functions, used only inside own room
    scripts/surface.py --list [REPO]     also one line per own-room-only function
    scripts/surface.py --names [REPO]    naming conventions of non-static functions and the
                                         internal header names in src/

Reads sources only (comments stripped; needs universal-ctags). A function
counts as used by a room when its name appears in that room's src/<room>/*.c
or *.h outside the defining room; tests/unit/<room> may use their own room's
internals and do not count. The CLI (src/cli), tests/tools, tests/fuzz and
the other tests count as outside users. Exit status 0 always (a measurement).
"""
import collections
import os
import re
import subprocess
import sys

COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\])*\"", re.S)


def strip(text):
    return COMMENT.sub(" ", text)


def ctags(paths, kinds):
    out = subprocess.run(["ctags", "-x", "--c-kinds=" + kinds, "--language-force=C"] + paths,
                         capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        f = line.split(None, 4)
        rows.append((f[0], f[1], int(f[2]), f[3], f[4] if len(f) > 4 else ""))
    return rows


def users(repo):
    """room/user name -> set of identifiers appearing in its sources."""
    groups = collections.defaultdict(set)
    ident = re.compile(r"\b[A-Za-z_]\w*\b")
    for top, label in (("src", None), ("tests", "tests")):
        for d, _, files in os.walk(os.path.join(repo, top)):
            for f in files:
                if not f.endswith((".c", ".h")):
                    continue
                p = os.path.join(d, f)
                rel = os.path.relpath(p, repo).split(os.sep)
                if label is None:
                    who = rel[1]
                elif rel[1] == "unit":
                    who = "unit/" + rel[2]
                else:
                    who = "tests/" + rel[1]
                with open(p, errors="replace") as fh:
                    groups[who].update(ident.findall(strip(fh.read())))
    return groups


def surface(repo, listing):
    inc = os.path.join(repo, "include", "llm4hep")
    heads = sorted(h for h in os.listdir(inc) if h.endswith(".h"))
    groups = users(repo)
    total = own_total = 0
    print("%-10s %7s %9s" % ("header", "public", "own-only"))
    detail = []
    for h in heads:
        room = h[:-2]
        names = sorted({r[0] for r in ctags([os.path.join(inc, h)], "p")})
        own = []
        for n in names:
            outside = [g for g in groups if n in groups[g] and g != room and g != "unit/" + room]
            if not outside:
                own.append(n)
        total += len(names)
        own_total += len(own)
        print("%-10s %7d %9d" % (h, len(names), len(own)))
        detail += ["  %s: %s" % (h, n) for n in own]
    print("%-10s %7d %9d" % ("total", total, own_total))
    if listing:
        print("\n".join(detail))


def names(repo):
    src = os.path.join(repo, "src")
    files = []
    for d, _, fs in os.walk(src):
        files += [os.path.join(d, f) for f in fs if f.endswith((".c", ".h"))]
    rows = ctags(sorted(files), "f")
    public = {r[0] for r in ctags(sorted(os.path.join(repo, "include", "llm4hep", h)
                                         for h in os.listdir(os.path.join(repo, "include", "llm4hep"))),
                                  "p")}
    conv = collections.Counter()
    for name, _, _, path, text in rows:
        if re.match(r"\s*static\b", text) or "static " in text.split(name)[0]:
            continue
        if name == "main":
            continue
        room = os.path.relpath(path, src).split(os.sep)[0]
        if name in public and name.startswith("l4h_"):
            conv["l4h_ (public, include/llm4hep/*.h)"] += 1
        elif name in public:
            conv["other: public without l4h_ (%s)" % room] += 1
        elif name.startswith(room + "_"):
            conv["<room>_ (room-internal, %s_)" % room] += 1
        else:
            m = re.match(r"(l4h__|l4h_llm_|l4h_[a-z0-9]+_|l4h_|[a-z0-9]+_|[a-z]+)", name)
            conv["other: %s* (%s)" % (m.group(1), room)] += 1
    fam = collections.Counter()
    for k, v in conv.items():
        if k.startswith("l4h_ (public"):
            fam["l4h_<...> public (include/llm4hep/<room>.h)"] += v
        elif k.startswith("<room>_"):
            fam["<room>_<name> room-internal"] += v
        elif k.startswith("other: l4h__"):
            fam["l4h__<name>"] += v
        elif re.match(r"other: l4h_(\w+?)_\* \((\w+)\)", k) and \
                re.match(r"other: l4h_(\w+?)_\* \((\w+)\)", k).group(1) == \
                re.match(r"other: l4h_(\w+?)_\* \((\w+)\)", k).group(2):
            fam["l4h_<room>_<name> internal (not public)"] += v
        elif k.startswith("other: l4h_"):
            fam["l4h_<other>_<name> internal (not public)"] += v
        elif k.startswith("other: public"):
            fam["public without l4h_"] += v
        elif k.startswith("other: y"):
            fam["y<name> (core's YAML getters)"] += v
        else:
            fam["<module>_<name> bare (coord_, rt_, wire_, cmd_, ...)"] += v
    print("naming conventions in use (non-static functions in src/): %d" % len(fam))
    for k, v in sorted(fam.items(), key=lambda kv: -kv[1]):
        print("  %4d  %s" % (v, k))
    print("non-static functions in src/ by prefix:")
    for k, v in sorted(conv.items(), key=lambda kv: (-kv[1], kv[0])):
        print("  %4d  %s" % (v, k))
    hdrs = sorted(os.path.relpath(os.path.join(d, f), repo)
                  for d, _, fs in os.walk(src) for f in fs if f.endswith(".h"))
    print("internal headers:", " ".join(hdrs))


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    repo = args[0] if args else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if "--names" in argv:
        names(repo)
    else:
        surface(repo, "--list" in argv)


if __name__ == "__main__":
    main(sys.argv[1:])
