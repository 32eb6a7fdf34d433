#!/usr/bin/env python3
"""Synthetic ATLAS-like H->ZZ*->4l samples in HDF5.

Writes the samples of the ATLAS Open Data 2020 "4lep" release with the real
file names (extension .h5 instead of .root), the `mini` tree's branch names,
dtypes and units (MeV, mm):

    OUT/Data/data_{A,B,C,D}.4lep.h5
    OUT/MC/mc_345060.ggH125_ZZ4lep.4lep.h5     mc_344235.VBFH125_ZZ4lep.4lep.h5
    OUT/MC/mc_363490.llll.4lep.h5              (irreducible ZZ*)
    OUT/MC/mc_361106.Zee.4lep.h5  mc_361107.Zmumu.4lep.h5  mc_410000.ttbar_lep.4lep.h5

File layout: the container format of reference/hgg/gen/generate.py — one
HDF5 group `mini` per file, attribute `entries`; one 1-D dataset per branch;
vector branches (lep_*) flat with per-event counts in `lep_n` (dataset
attribute `counts`); leptons in descending pT.

Physics (plausible, not precise):
  * signal H(125) -> Z Z* -> 4l, e/mu each Z (4e : 2e2mu : 4mu = 1 : 2 : 1),
    2.2 % lepton momentum resolution (sigma(m4l) ~ 2 GeV);
  * ZZ*: the single-resonant Z -> 4l peak, the continuum below 2 m_Z and the
    on-shell ZZ spectrum above it;
  * Z+jets and ttbar: two prompt leptons plus two non-prompt leptons from
    heavy-flavour decays in jets: not isolated, large impact parameter, often
    not tight — isolation and impact-parameter cuts remove them;
  * data = every process at its 10.064 fb^-1 rate (Poisson counts fixed by
    the seed, the same for every size); only the Z+jets/ttbar events that
    the selection removes are thinned at smaller sizes, never S/B.

Same --seed and --size give byte-identical files.

    generate.py --out DIR [--size tiny|default|full] [--seed N]
"""
import argparse
import os
import sys
import time

import numpy as np

MEV = 1000.0
M_Z, G_Z = 91.1876, 2.4952
M_H = 125.0
LUMI_PB = 10064.0
LUMI_FB = {"A": 0.5, "B": 1.9, "C": 2.9, "D": 4.7}          # ATLAS 2016 periods
RUN_RANGE = {"A": (297730, 300287), "B": (300345, 300908),
             "C": (301912, 302393), "D": (302737, 303560)}
BR_4L = 0.0262 * (2 * 0.03366) ** 2                          # H -> ZZ* -> 4l, l = e, mu
# process -> (file stem, DSID, XSection in pb, 4lep skim efficiency)
# The skim efficiency (= sum of written mcWeight / SumWeights) sets the yields
# after the 4lep skim at 10 fb^-1; chosen so the selected yields match the
# published picture (docs/notes/hzz.md).
PROCESSES = {
    "ggH": ("mc_345060.ggH125_ZZ4lep.4lep", 345060, 48.52 * BR_4L, 0.30),
    "VBF": ("mc_344235.VBFH125_ZZ4lep.4lep", 344235, 3.779 * BR_4L, 0.30),
    "ZZ": ("mc_363490.llll.4lep", 363490, 1.2578, 0.035),
    "Zee": ("mc_361106.Zee.4lep", 361106, 1950.5, 2.0e-4),
    "Zmumu": ("mc_361107.Zmumu.4lep", 361107, 1950.6, 2.0e-4),
    "ttbar": ("mc_410000.ttbar_lep.4lep", 410000, 452.69, 4.0e-4),
}
# per size: MC events per process, and the share of the Z+jets/ttbar data
# events kept (1 = the real rate)
SIZES = {
    "tiny": ({"ggH": 1500, "VBF": 500, "ZZ": 4000, "Zee": 500, "Zmumu": 500, "ttbar": 500}, 0.1),
    "default": ({"ggH": 20000, "VBF": 5000, "ZZ": 60000, "Zee": 5000, "Zmumu": 5000, "ttbar": 5000}, 1.0),
    "full": ({"ggH": 200000, "VBF": 50000, "ZZ": 600000, "Zee": 50000, "Zmumu": 50000,
              "ttbar": 50000}, 1.0),
}
CHUNK = 200_000
MAX_LEP = 5

SCALARS = [
    ("runNumber", "i4"), ("eventNumber", "i4"), ("channelNumber", "i4"),
    ("mcWeight", "f4"), ("scaleFactor_PILEUP", "f4"), ("scaleFactor_ELE", "f4"),
    ("scaleFactor_MUON", "f4"), ("scaleFactor_PHOTON", "f4"), ("scaleFactor_TAU", "f4"),
    ("scaleFactor_BTAG", "f4"), ("scaleFactor_LepTRIGGER", "f4"),
    ("scaleFactor_PhotonTRIGGER", "f4"), ("trigE", "?"), ("trigM", "?"), ("trigP", "?"),
    ("XSection", "f4"), ("SumWeights", "f4"),
    ("lep_n", "u4"), ("met_et", "f4"), ("met_phi", "f4"),
]
VECTORS = {"lep_n": [
    ("lep_truthMatched", "?"), ("lep_trigMatched", "?"),
    ("lep_pt", "f4"), ("lep_eta", "f4"), ("lep_phi", "f4"), ("lep_E", "f4"),
    ("lep_z0", "f4"), ("lep_charge", "i4"), ("lep_type", "u4"), ("lep_isTightID", "?"),
    ("lep_ptcone30", "f4"), ("lep_etcone20", "f4"),
    ("lep_trackd0pvunbiased", "f4"), ("lep_tracksigd0pvunbiased", "f4"),
]}
VECTOR_LAYOUT = ("vector branches are flat: values of all events concatenated in event "
                 "order; per-event counts in lep_n (attribute 'counts')")
LEP_FIELDS = [n for n, _ in VECTORS["lep_n"]]


# ---------------------------------------------------------------- kinematics

def boost(p, beta):
    """Boost four-vectors p (n, 4: E, px, py, pz) by velocity beta (n, 3)."""
    b2 = np.sum(beta**2, 1)
    gamma = 1 / np.sqrt(1 - b2)
    bp = np.sum(beta * p[:, 1:], 1)
    g2 = np.where(b2 > 0, (gamma - 1) / np.where(b2 > 0, b2, 1), 0.0)
    E = gamma * (p[:, 0] + bp)
    xyz = p[:, 1:] + (g2 * bp + gamma * p[:, 0])[:, None] * beta
    return np.concatenate([E[:, None], xyz], 1)


def decay(rng, parent, m, m1, m2):
    """Isotropic two-body decay of parent four-vectors (mass m) into masses m1, m2."""
    n = len(m)
    p = np.sqrt(np.maximum((m**2 - (m1 + m2)**2) * (m**2 - (m1 - m2)**2), 0)) / (2 * m)
    cos_t = rng.uniform(-1, 1, n)
    sin_t = np.sqrt(1 - cos_t**2)
    ph = rng.uniform(-np.pi, np.pi, n)
    d = np.stack([sin_t * np.cos(ph), sin_t * np.sin(ph), cos_t], 1) * p[:, None]
    beta = parent[:, 1:] / parent[:, :1]
    a = np.concatenate([np.sqrt(p**2 + m1**2)[:, None], d], 1)
    b = np.concatenate([np.sqrt(p**2 + m2**2)[:, None], -d], 1)
    return boost(a, beta), boost(b, beta)


def system(rng, m, pt_scale, y_width):
    """Four-vectors of systems of mass m with a gamma-distributed pT."""
    n = len(m)
    pt = rng.gamma(*pt_scale, n)
    y = rng.normal(0, y_width, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    mt = np.sqrt(m**2 + pt**2)
    return np.stack([mt * np.cosh(y), pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(y)], 1)


def breit_wigner(rng, n, lo, hi):
    """Z line shape truncated to [lo, hi] (arrays allowed)."""
    u = rng.uniform(0, 1, n)
    a, b = np.arctan((lo - M_Z) / (G_Z / 2)), np.arctan((hi - M_Z) / (G_Z / 2))
    return M_Z + G_Z / 2 * np.tan(a + u * (b - a))


def pt_eta_phi(p):
    pt = np.hypot(p[:, 1], p[:, 2])
    return pt, np.arcsinh(p[:, 3] / np.maximum(pt, 1e-9)), np.arctan2(p[:, 2], p[:, 1])


# ---------------------------------------------------------------- leptons

def lepton_block(n, k):
    """Empty (n, k) lepton matrices."""
    f = lambda v, dt=float: np.full((n, k), v, dt)
    return {"valid": f(False, bool), "pt": f(0.0), "eta": f(0.0), "phi": f(0.0),
            "type": f(11, int), "charge": f(1, int), "prompt": f(False, bool)}


def put_leptons(blk, col, p4, flavour, charge, prompt):
    pt, eta, phi = pt_eta_phi(p4)
    blk["pt"][:, col], blk["eta"][:, col], blk["phi"][:, col] = pt, eta, phi
    blk["type"][:, col], blk["charge"][:, col] = flavour, charge
    blk["prompt"][:, col] = prompt
    blk["valid"][:, col] = True


def z_to_ll(rng, blk, cols, z4, mz, flavour):
    """Z four-vectors -> two leptons of the given flavour (11/13) in cols."""
    n = len(mz)
    l1, l2 = decay(rng, z4, mz, np.zeros(n), np.zeros(n))
    q = rng.choice([-1, 1], n)
    put_leptons(blk, cols[0], l1, flavour, q, True)
    put_leptons(blk, cols[1], l2, flavour, -q, True)


def four_leptons(rng, n, m4l, mz1, mz2, pt_scale, y_width):
    """Parent (m4l) -> Z1 (mz1) Z2 (mz2) -> 4 prompt leptons; e/mu per Z."""
    blk = lepton_block(n, MAX_LEP)
    parent = system(rng, m4l, pt_scale, y_width)
    z1, z2 = decay(rng, parent, m4l, mz1, mz2)
    for cols, z, mz in (((0, 1), z1, mz1), ((2, 3), z2, mz2)):
        z_to_ll(rng, blk, cols, z, mz, rng.choice([11, 13], n))
    return blk


def nonprompt(rng, blk, col, n, rows=None):
    """Non-prompt leptons from heavy-flavour decays in jets, in column col."""
    rows = np.ones(n, bool) if rows is None else rows
    pt = 5.0 + rng.exponential(9.0, n)
    eta = rng.uniform(-2.5, 2.5, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    p4 = np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], 1)
    keep = lambda new, old: np.where(rows, new, old)
    pt_, eta_, phi_ = pt_eta_phi(p4)
    blk["pt"][:, col] = keep(pt_, blk["pt"][:, col])
    blk["eta"][:, col] = keep(eta_, blk["eta"][:, col])
    blk["phi"][:, col] = keep(phi_, blk["phi"][:, col])
    blk["type"][:, col] = keep(rng.choice([11, 13], n), blk["type"][:, col])
    blk["charge"][:, col] = keep(rng.choice([-1, 1], n), blk["charge"][:, col])
    blk["prompt"][:, col] = np.where(rows, False, blk["prompt"][:, col])
    blk["valid"][:, col] |= rows


def signal_leptons(rng, n, mode):
    mz1 = breit_wigner(rng, n, 50.0, 115.0)
    top = M_H - mz1
    mz2 = 12.0 + (top - 12.5) * rng.beta(2.5, 1.2, n)
    mz1, mz2 = np.where(mz1 + mz2 < M_H - 0.5, mz1, 80.0), np.where(mz1 + mz2 < M_H - 0.5, mz2, 30.0)
    pt_scale = (1.6, 20.0) if mode == "ggH" else (2.0, 40.0)
    blk = four_leptons(rng, n, np.full(n, M_H), mz1, mz2, pt_scale, 1.3)
    extra = rng.random(n) < 0.08                   # a soft non-prompt lepton from a jet
    nonprompt(rng, blk, 4, n, extra)
    blk["prompt"][:, 4] |= extra & (rng.random(n) < 0.3)   # or an isolated one (5 good leptons)
    return blk


def zz_leptons(rng, n):
    """q qbar -> ZZ* -> 4l: single-resonant Z peak, off-shell continuum, on-shell ZZ."""
    r = rng.random(n)
    peak, cont = r < 0.08, (r >= 0.08) & (r < 0.38)
    m = 182.5 + rng.gamma(1.6, 55.0, n)                                   # on-shell ZZ
    m = np.where(peak, breit_wigner(rng, n, 80.0, 100.0), m)
    m = np.where(cont, 100.0 + 82.0 * rng.beta(1.6, 1.0, n), m)            # rising to 2 m_Z
    mz1 = np.where(m > 182.5, breit_wigner(rng, n, 70.0, 115.0), breit_wigner(rng, n, 50.0, 106.0))
    mz1 = np.where(peak, 40.0 + (m - 46.0) * rng.beta(3.0, 1.2, n), mz1)
    mz1 = np.minimum(mz1, np.where(m > 182.5, m / 2, m - 6.0))
    mz2_off = 4.0 + (m - mz1 - 4.5) * rng.beta(2.0, 1.3, n)
    mz2 = np.where(m > 182.5, np.minimum(breit_wigner(rng, n, 70.0, 115.0), m - mz1 - 0.5), mz2_off)
    mz2 = np.maximum(mz2, 1.0)
    return four_leptons(rng, n, m, mz1, mz2, (1.5, 25.0), 1.6)


def fake_leptons(rng, n, mode):
    """Z+jets / ttbar: two prompt leptons plus two or three non-prompt ones."""
    blk = lepton_block(n, MAX_LEP)
    if mode in ("Zee", "Zmumu"):
        mz = breit_wigner(rng, n, 60.0, 120.0)
        z = system(rng, mz, (1.3, 15.0), 1.8)
        z_to_ll(rng, blk, (0, 1), z, mz, 11 if mode == "Zee" else 13)
    else:   # two W -> l nu leptons, independent flavours and charges
        for col, q in ((0, 1), (1, -1)):
            pt = 20.0 + rng.exponential(30.0, n)
            eta = rng.normal(0, 1.2, n).clip(-2.45, 2.45)
            phi = rng.uniform(-np.pi, np.pi, n)
            p4 = np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], 1)
            put_leptons(blk, col, p4, rng.choice([11, 13], n), np.full(n, q), True)
    nonprompt(rng, blk, 2, n)
    nonprompt(rng, blk, 3, n)
    nonprompt(rng, blk, 4, n, rng.random(n) < 0.25)
    return blk


def reconstruct(rng, blk):
    """Detector response: resolution, acceptance, ID, isolation, impact parameters,
    ordering by pT. Returns per-lepton matrices (n, MAX_LEP) and validity."""
    n, k = blk["pt"].shape
    is_e = blk["type"] == 11
    prompt = blk["prompt"]
    pt = blk["pt"] * (1 + rng.normal(0, 0.022, (n, k)))
    fsr = prompt & (rng.random((n, k)) < 0.04)          # final-state radiation: low-side tail
    pt = pt * np.where(fsr, 1 - rng.exponential(0.04, (n, k)).clip(0, 0.5), 1.0)
    eta, phi = blk["eta"], (blk["phi"] + np.pi) % (2 * np.pi) - np.pi
    acc = np.where(is_e, np.abs(eta) < 2.47, np.abs(eta) < 2.5) & (pt > 5.0)
    eff = np.where(is_e, 0.92, 0.97) * np.where(prompt, 1.0, 0.8)
    valid = blk["valid"] & acc & (rng.random((n, k)) < eff)
    tight = np.where(prompt, rng.random((n, k)) < 0.96, rng.random((n, k)) < 0.55)
    iso_p = rng.exponential(0.02, (n, k))
    iso_np = 0.04 + rng.exponential(0.35, (n, k))
    ptcone = pt * np.where(prompt, np.where(rng.random((n, k)) < 0.7, 0.0, iso_p), iso_np)
    etcone = pt * np.where(prompt, rng.normal(0.005, 0.03, (n, k)),
                           0.03 + rng.exponential(0.30, (n, k)))
    sig_d0 = np.where(is_e, 0.025, 0.015) + 0.6 / np.maximum(pt, 1.0)          # mm
    d0sig = np.where(prompt, rng.normal(0, 1.0, (n, k)), rng.normal(0, 1, (n, k)) * 9.0)
    d0 = d0sig * sig_d0
    z0 = np.where(prompt, rng.normal(0, 0.18, (n, k)), rng.normal(0, 0.9, (n, k)))
    truth = prompt.copy()
    trigm = rng.random((n, k)) < 0.9
    key = np.where(valid, pt, -np.inf)
    order = np.argsort(-key, axis=1, kind="stable")
    take = lambda a: np.take_along_axis(a, order, 1)
    mass = np.where(is_e, 0.000511, 0.10566)
    E = np.sqrt((pt * np.cosh(eta))**2 + mass**2)
    out = {"valid": take(valid), "lep_pt": take(pt) * MEV, "lep_eta": take(eta),
           "lep_phi": take(phi), "lep_E": take(E) * MEV, "lep_z0": take(z0),
           "lep_charge": take(blk["charge"]), "lep_type": take(blk["type"]),
           "lep_isTightID": take(tight), "lep_ptcone30": take(ptcone) * MEV,
           "lep_etcone20": take(etcone) * MEV, "lep_trackd0pvunbiased": take(d0),
           "lep_tracksigd0pvunbiased": take(np.broadcast_to(sig_d0, (n, k)).copy()),
           "lep_truthMatched": take(truth), "lep_trigMatched": take(trigm)}
    out["n"] = out["valid"].sum(1)
    return out


def events(rng, n, proc):
    """n events of a process that pass the 4lep skim (>= 4 reconstructed leptons)."""
    parts, have = [], 0
    while have < n:
        m = int((n - have) * 1.6) + 16
        if proc in ("ggH", "VBF"):
            blk = signal_leptons(rng, m, proc)
        elif proc == "ZZ":
            blk = zz_leptons(rng, m)
        else:
            blk = fake_leptons(rng, m, proc)
        ev = reconstruct(rng, blk)
        keep = ev["n"] >= 4
        ev = {k: v[keep] for k, v in ev.items()}
        parts.append(ev)
        have += int(keep.sum())
    ev = {k: np.concatenate([p[k] for p in parts])[:n] for k in parts[0]}
    # triggers: single electron / single muon with pT > 25 GeV (efficiency 95 %)
    pt = np.where(ev["valid"], ev["lep_pt"] / MEV, 0.0)
    trig = lambda t: ((ev["lep_type"] == t) & (pt > 25.0)).any(1) & (rng.random(n) < 0.95)
    ev["trigE"], ev["trigM"] = trig(11), trig(13)
    ev["proc"] = np.full(n, list(PROCESSES).index(proc))
    return ev


# ---------------------------------------------------------------- samples

def weights(rng, ev, is_data):
    n = len(ev["n"])
    one = np.ones(n)
    if is_data:
        return one, {k: one for k in ("PILEUP", "ELE", "MUON", "PHOTON", "TAU", "BTAG",
                                      "LepTRIGGER", "PhotonTRIGGER")}
    t = np.where(ev["valid"], ev["lep_type"], 0)
    ne, nm = (t == 11).sum(1), (t == 13).sum(1)
    sf = {"PILEUP": np.clip(rng.normal(1.0, 0.1, n), 0.5, 1.5),
          "ELE": np.where(ne > 0, rng.normal(0.97, 0.02, n) ** np.maximum(ne, 1) ** 0.5, 1.0),
          "MUON": np.where(nm > 0, rng.normal(0.99, 0.01, n), 1.0),
          "LepTRIGGER": rng.normal(0.995, 0.004, n),
          "PHOTON": one, "TAU": one, "BTAG": one, "PhotonTRIGGER": one}
    w = rng.lognormal(0.0, 0.25, n) * np.where(rng.random(n) < 0.03, -1.0, 1.0)   # NLO weights
    return w, sf


def branches(ev, kind, rng, proc=None, period=None, sumw=None):
    n = len(ev["n"])
    w, sf = weights(rng, ev, kind == "data")
    b = {}
    if kind == "data":
        lo, hi = RUN_RANGE[period]
        b["runNumber"] = np.sort(rng.integers(lo, hi + 1, n))
        b["eventNumber"] = rng.integers(1, 2**31 - 1, n)
        b["channelNumber"] = b["runNumber"]
        b["XSection"], b["SumWeights"] = np.ones(n), np.ones(n)
        ev["lep_truthMatched"] = np.zeros_like(ev["lep_truthMatched"])
    else:
        _, dsid, xsec, _ = PROCESSES[proc]
        b["runNumber"] = np.full(n, 284500)
        b["eventNumber"] = np.arange(1, n + 1)
        b["channelNumber"] = np.full(n, dsid)
        b["XSection"] = np.full(n, xsec)
        b["SumWeights"] = np.full(n, sumw if sumw is not None else 1.0)
    b["mcWeight"] = w
    for k, v in sf.items():
        b["scaleFactor_" + k] = v
    b["trigE"], b["trigM"], b["trigP"] = ev["trigE"], ev["trigM"], np.zeros(n, bool)
    b["lep_n"] = ev["n"]
    b["met_et"] = np.hypot(rng.normal(0, 12.0, n), rng.normal(0, 12.0, n)) * MEV
    b["met_phi"] = rng.uniform(-np.pi, np.pi, n)
    for name in LEP_FIELDS:
        b[name] = ev[name][ev["valid"]]
    return b


def write_sample(path, br, title):
    """One file with deterministic bytes (no timestamps, fixed order)."""
    import h5py
    tmp = path + ".tmp"
    with h5py.File(tmp, "w", libver="earliest", track_order=False) as f:
        g = f.create_group("mini", track_order=False)
        g.attrs["title"] = title
        g.attrs["entries"] = np.int64(len(br["lep_n"]))
        g.attrs["vector_layout"] = VECTOR_LAYOUT
        for name, dt in SCALARS:
            g.create_dataset(name, data=np.asarray(br[name]).astype(dt), track_times=False)
        for count, members in VECTORS.items():
            for name, dt in members:
                d = g.create_dataset(name, data=np.asarray(br[name]).astype(dt), track_times=False)
                d.attrs["counts"] = count
    os.replace(tmp, path)


def rng_for(seed, *key):
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *key])))


def mc_events(seed, proc, n):
    """n MC events of proc, in chunks with their own random streams."""
    i = list(PROCESSES).index(proc)
    parts = [events(rng_for(seed, 1, i, c), min(CHUNK, n - s), proc)
             for c, s in enumerate(range(0, n, CHUNK))]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def data_counts(seed, thin):
    """Events per (period, process) in data: Poisson at the period's luminosity
    and the skimmed cross-section; Z+jets/ttbar scaled by `thin`."""
    counts = {}
    for pi, (p, lumi) in enumerate(LUMI_FB.items()):
        for j, (proc, (_, _, xsec, skim)) in enumerate(PROCESSES.items()):
            mu = xsec * skim * lumi * 1000.0
            if proc in ("Zee", "Zmumu", "ttbar"):
                mu *= thin
            counts[p, proc] = int(rng_for(seed, 2, pi, j).poisson(mu))   # own stream: the same
            # signal and ZZ* content in data for every size
    return counts


def data_events(seed, period, counts):
    pi = list(LUMI_FB).index(period)
    parts = []
    for j, proc in enumerate(PROCESSES):
        n = counts[period, proc]
        if n:
            parts.append(events(rng_for(seed, 3, pi, j), n, proc))
    ev = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = rng_for(seed, 4, pi).permutation(len(ev["n"]))
    return {k: v[order] for k, v in ev.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="data directory to create")
    ap.add_argument("--size", default="default", choices=sorted(SIZES))
    ap.add_argument("--seed", type=int, default=125)
    a = ap.parse_args(argv)
    t0 = time.time()
    n_mc, thin = SIZES[a.size]
    for sub in ("Data", "MC"):
        os.makedirs(os.path.join(a.out, sub), exist_ok=True)
    counts = data_counts(a.seed, thin)
    for pi, period in enumerate(LUMI_FB):
        ev = data_events(a.seed, period, counts)
        b = branches(ev, "data", rng_for(a.seed, 5, pi), period=period)
        rel = f"Data/data_{period}.4lep.h5"
        write_sample(os.path.join(a.out, rel), b, f"data_{period}.4lep")
        print(f"{rel}: {len(ev['n'])} events", flush=True)
    for i, (proc, (stem, _, _, skim)) in enumerate(PROCESSES.items()):
        ev = mc_events(a.seed, proc, n_mc[proc])
        rng = rng_for(a.seed, 6, i)
        b = branches(ev, "mc", rng, proc=proc)
        # SumWeights: the generated events' sum, as if `skim` of them passed the 4lep skim
        b["SumWeights"] = np.full(len(ev["n"]), b["mcWeight"].astype(np.float32).sum(dtype=np.float64) / skim)
        rel = f"MC/{stem}.h5"
        write_sample(os.path.join(a.out, rel), b, stem)
        print(f"{rel}: {len(ev['n'])} events", flush=True)
    print(f"generated size={a.size} seed={a.seed} in {time.time() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
