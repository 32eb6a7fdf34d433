#!/usr/bin/env python3
"""Download the ATLAS Open Data 2020 4lep samples (the hzz-atlas suite's `generate`).

    fetch_atlas.py --out DIR [--base-url URL] [--dry-run]

Writes DIR/Data/data_{A,B,C,D}.4lep.root and DIR/MC/mc_*.4lep.root (the ten
files the suite uses) from the public release (https://opendata.atlas.cern,
13 TeV 2020 release, 4lep skim). Files go to
DIR.partial first and DIR appears only when all are complete, so an
interrupted download never looks like data; a rerun resumes the files
already in DIR.partial. Honours https_proxy. Untested from the development
machines (no network there); the URL can be overridden with --base-url or
LLM4HEP_ATLAS_URL.
"""
import argparse
import os
import shutil
import sys
import urllib.request

BASE_URL = "https://atlas-opendata.web.cern.ch/atlas-opendata/samples/2020/4lep"
FILES = ["Data/data_A.4lep.root", "Data/data_B.4lep.root",
         "Data/data_C.4lep.root", "Data/data_D.4lep.root",
         "MC/mc_345060.ggH125_ZZ4lep.4lep.root", "MC/mc_344235.VBFH125_ZZ4lep.4lep.root",
         "MC/mc_363490.llll.4lep.root", "MC/mc_361106.Zee.4lep.root",
         "MC/mc_361107.Zmumu.4lep.root", "MC/mc_410000.ttbar_lep.4lep.root"]


def fetch(url, dest):
    """Download url to dest (via dest.part); skip when dest exists."""
    if os.path.exists(dest):
        return
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with urllib.request.urlopen(url, timeout=120) as r, open(dest + ".part", "wb") as fh:
        shutil.copyfileobj(r, fh, 1 << 22)
    os.replace(dest + ".part", dest)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--base-url", default=os.environ.get("LLM4HEP_ATLAS_URL", BASE_URL))
    ap.add_argument("--dry-run", action="store_true", help="print the URLs only")
    a = ap.parse_args(argv)
    out = a.out.rstrip("/")
    if os.path.exists(out):
        print(f"fetch_atlas: {out} exists; nothing to do")
        return 0
    partial = out + ".partial"
    for rel in FILES:
        url = f"{a.base_url}/{rel}"
        print(url, flush=True)
        if not a.dry_run:
            try:
                fetch(url, os.path.join(partial, rel))
            except OSError as e:
                print(f"fetch_atlas: {url}: {e}\n(set LLM4HEP_HZZ_ATLAS_DATA to a directory that "
                      f"already holds Data/ and MC/, or LLM4HEP_ATLAS_URL to a mirror)", file=sys.stderr)
                return 3
    if not a.dry_run:
        os.replace(partial, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
