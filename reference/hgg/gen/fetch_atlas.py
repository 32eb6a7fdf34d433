#!/usr/bin/env python3
"""Download the ATLAS Open Data 2020 GamGam samples (the atlas suite's `generate`).

    fetch_atlas.py --out DIR [--base-url URL] [--dry-run]

Writes DIR/Data/data_{A,B,C,D}.GamGam.root and DIR/MC/mc_*.GamGam.root (the
nine files the suite uses, a few GB) from the public release
(https://opendata.atlas.cern, 13 TeV 2020 release, GamGam skim). Files go to
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

BASE_URL = "https://atlas-opendata.web.cern.ch/atlas-opendata/samples/2020/GamGam"
FILES = ["Data/data_A.GamGam.root", "Data/data_B.GamGam.root",
         "Data/data_C.GamGam.root", "Data/data_D.GamGam.root",
         "MC/mc_343981.ggH125_gamgam.GamGam.root", "MC/mc_345041.VBFH125_gamgam.GamGam.root",
         "MC/mc_345318.WpH125J_Wincl_gamgam.GamGam.root",
         "MC/mc_345319.ZH125J_Zincl_gamgam.GamGam.root", "MC/mc_341081.ttH125_gamgam.GamGam.root"]


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
                print(f"fetch_atlas: {url}: {e}\n(set LLM4HEP_ATLAS_DATA to a directory that "
                      f"already holds Data/ and MC/, or LLM4HEP_ATLAS_URL to a mirror)", file=sys.stderr)
                return 3
    if not a.dry_run:
        os.replace(partial, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
