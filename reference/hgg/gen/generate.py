#!/usr/bin/env python3
"""Synthetic ATLAS-like H->gamma gamma samples in HDF5.

Writes the nine samples of the ATLAS Open Data 2020 "GamGam" release with the
real file names (extension .h5 instead of .root), the `mini` tree's branch
names, dtypes and units (MeV):

    OUT/Data/data_{A,B,C,D}.GamGam.h5
    OUT/MC/mc_343981.ggH125_gamgam.GamGam.h5          (and VBF, WH, ZH, ttH)

File layout (the contract the prompts state):
  * one HDF5 group `mini` per file (the tree); one 1-D dataset per branch;
  * scalar branches hold one value per event;
  * vector branches (photon_*, lep_*, jet_*) are stored flat: the values of
    all events concatenated in event order; the per-event multiplicity is the
    scalar branch photon_n / lep_n / jet_n (also named in the dataset's
    attribute `counts`). Event i owns values[offsets[i]:offsets[i+1]] with
    offsets = concatenate([0], cumsum(n as int64)). Objects in descending pT.

Physics (plausible, not precise): background is a steeply falling diphoton
mass spectrum with fake photons that fail tight ID and isolation; signal is a
125 GeV resonance with ~1.7 GeV resolution and a low-side tail from photon
conversions; production modes carry their signatures (VBF forward jets, VH
leptons/MET/dijets, ttH jets and b-tags). A small signal is injected in data.

Same --seed and --size give byte-identical files.

    generate.py --out DIR [--size tiny|default|full] [--seed N]
"""
import argparse
import os
import sys
import time

import numpy as np

MEV = 1000.0
LUMI_FB = {"A": 0.5, "B": 1.9, "C": 2.9, "D": 4.7}          # ATLAS 2016 periods
RUN_RANGE = {"A": (297730, 300287), "B": (300345, 300908),
             "C": (301912, 302393), "D": (302737, 303560)}
BR_GAMGAM = 2.27e-3
# mode -> (file stem, DSID, sigma x BR in pb, share of the MC events)
MC_SAMPLES = {
    "ggH": ("mc_343981.ggH125_gamgam.GamGam", 343981, 48.52 * BR_GAMGAM, 0.40),
    "VBF": ("mc_345041.VBFH125_gamgam.GamGam", 345041, 3.779 * BR_GAMGAM, 0.20),
    "WH": ("mc_345318.WpH125J_Wincl_gamgam.GamGam", 345318, 0.840 * BR_GAMGAM, 0.12),
    "ZH": ("mc_345319.ZH125J_Zincl_gamgam.GamGam", 345319, 0.884 * BR_GAMGAM, 0.12),
    "ttH": ("mc_341081.ttH125_gamgam.GamGam", 341081, 0.507 * BR_GAMGAM, 0.16),
}
# total (data events, MC events) per size
SIZES = {"tiny": (6_000, 4_000), "default": (420_000, 60_000), "full": (4_000_000, 1_000_000)}
SKIM_EFFICIENCY = 0.8      # SumWeights counts the generated events before the GamGam skim
INJECTED_FRACTION = 0.003  # share of data events that are signal
CHUNK = 250_000            # events generated per random stream (bounds memory at full size)
M_HIGGS = 125.0
REGION_GEV = (103.0, 165.0)  # background generated mostly here (the 105-160 GeV analysis region)
BKG_IN_REGION = 0.97       # share of background events generated inside REGION_GEV
BKG_SLOPE_GEV = 33.0       # exp(-m / slope): the real spectrum falls ~5x from 105 to 160 GeV
BKG_RICH_FRACTION = 0.30   # background events with photons + jets (+ W/Z/top leptons)
BKG_FAKE_FRACTION = 0.20   # share of background photon candidates that are jet fakes

# Branch name -> dtype, in the order written. "v:" marks vector branches.
SCALARS = [
    ("runNumber", "i4"), ("eventNumber", "i4"), ("channelNumber", "i4"),
    ("mcWeight", "f4"), ("scaleFactor_PILEUP", "f4"), ("scaleFactor_ELE", "f4"),
    ("scaleFactor_MUON", "f4"), ("scaleFactor_PHOTON", "f4"), ("scaleFactor_TAU", "f4"),
    ("scaleFactor_BTAG", "f4"), ("scaleFactor_LepTRIGGER", "f4"),
    ("scaleFactor_PhotonTRIGGER", "f4"), ("trigE", "?"), ("trigM", "?"), ("trigP", "?"),
    ("XSection", "f4"), ("SumWeights", "f4"),
    ("photon_n", "u4"), ("lep_n", "u4"), ("jet_n", "u4"),
    ("met_et", "f4"), ("met_phi", "f4"),
]
VECTORS = {   # count branch -> [(branch, dtype)]
    "photon_n": [("photon_pt", "f4"), ("photon_eta", "f4"), ("photon_phi", "f4"),
                 ("photon_E", "f4"), ("photon_ptcone30", "f4"), ("photon_etcone20", "f4"),
                 ("photon_isTightID", "?"), ("photon_truthMatched", "?"),
                 ("photon_trigMatched", "?"), ("photon_convType", "i4")],
    "lep_n": [("lep_pt", "f4"), ("lep_eta", "f4"), ("lep_phi", "f4"), ("lep_E", "f4"),
              ("lep_z0", "f4"), ("lep_ptcone30", "f4"), ("lep_etcone20", "f4"),
              ("lep_charge", "i4"), ("lep_type", "u4"), ("lep_isTightID", "?")],
    "jet_n": [("jet_pt", "f4"), ("jet_eta", "f4"), ("jet_phi", "f4"), ("jet_E", "f4"),
              ("jet_jvt", "f4"), ("jet_MV2c10", "f4"), ("jet_trueflav", "i4")],
}
VECTOR_LAYOUT = ("vector branches are flat: values of all events concatenated in event "
                 "order; per-event counts in photon_n / lep_n / jet_n (attribute 'counts')")


# ---------------------------------------------------------------- kinematics

def wrap_phi(phi):
    return (phi + np.pi) % (2 * np.pi) - np.pi


def two_body_decay(rng, m, pt, y):
    """Massless two-body decay of systems (m, pT, rapidity y), isotropic in the
    rest frame. Returns (pt, eta, phi) arrays of shape (n, 2), in GeV."""
    n = len(m)
    phi_sys = rng.uniform(-np.pi, np.pi, n)
    mt = np.sqrt(m**2 + pt**2)
    E, px, py, pz = mt * np.cosh(y), pt * np.cos(phi_sys), pt * np.sin(phi_sys), mt * np.sinh(y)
    cos_t = rng.uniform(-1, 1, n)
    sin_t = np.sqrt(1 - cos_t**2)
    phi_d = rng.uniform(-np.pi, np.pi, n)
    half = m / 2
    p_rest = np.stack([half * sin_t * np.cos(phi_d), half * sin_t * np.sin(phi_d), half * cos_t], 1)
    beta = np.stack([px, py, pz], 1) / E[:, None]
    b2 = np.sum(beta**2, 1)
    gamma = 1 / np.sqrt(1 - b2)
    g2 = np.where(b2 > 0, (gamma - 1) / np.where(b2 > 0, b2, 1), 0.0)
    out = []
    for sign in (1, -1):
        p = sign * p_rest
        bp = np.sum(beta * p, 1)
        lab = p + (g2 * bp + gamma * half)[:, None] * beta
        ptl = np.hypot(lab[:, 0], lab[:, 1])
        out.append((ptl, np.arcsinh(lab[:, 2] / ptl), np.arctan2(lab[:, 1], lab[:, 0])))
    return tuple(np.stack([o[k] for o in out], 1) for k in range(3))


def sort_objects(pt, valid, *others):
    """Sort each row's objects by descending pT, invalid ones last."""
    key = np.where(valid, pt, -np.inf)
    order = np.argsort(-key, axis=1, kind="stable")
    take = lambda a: np.take_along_axis(a, order, 1)
    return (take(pt), take(valid)) + tuple(take(a) for a in others)


# ---------------------------------------------------------------- physics

def background_mass(rng, n):
    """Diphoton mass of background events: the falling spectrum
    exp(-m / BKG_SLOPE_GEV), generated mostly inside the analysis region
    (share BKG_IN_REGION in REGION_GEV) and thinly outside it, so that the
    region holds the real rate of events without paying for the rest of the
    skim (the files stand for the events near the analysis region)."""
    lo, hi = REGION_GEV
    inside = rng.random(n) < BKG_IN_REGION
    u = rng.random(n)
    span = 1 - np.exp(-(hi - lo) / BKG_SLOPE_GEV)
    m_in = lo - BKG_SLOPE_GEV * np.log1p(-u * span)      # truncated exponential in the region
    m_out = 60.0 + rng.exponential(42.0, n)              # the old wide spectrum, region cut out
    m_out = np.where((m_out >= lo) & (m_out < hi), m_out + (hi - lo), m_out)
    return np.where(inside, m_in, m_out)


def photons(rng, n, mode):
    """Leading diphoton pair plus extra soft photons. mode 'bkg' or a signal mode."""
    signal = mode != "bkg"
    if signal:
        m = np.full(n, M_HIGGS)
        pt_scale = {"ggH": (1.6, 20.0), "VBF": (2.0, 40.0), "WH": (2.0, 45.0),
                    "ZH": (2.0, 45.0), "ttH": (2.0, 55.0)}[mode]
        pt_sys = rng.gamma(*pt_scale, n)
        y = rng.normal(0, 1.4, n)
    else:
        m = background_mass(rng, n)
        pt_sys = rng.gamma(1.3, 20.0, n)
        y = rng.normal(0, 1.6, n)
    pt, eta, phi = two_body_decay(rng, m, pt_sys, y)
    conv = rng.choice([0, 1, 2, 3, 4, 5], size=(n, 2), p=[0.66, 0.12, 0.12, 0.04, 0.03, 0.03])
    if signal:   # energy resolution and a low-side tail from converted photons
        scale = 1 + rng.normal(0, 0.0185, (n, 2))
        leak = (conv > 0) & (rng.random((n, 2)) < 0.3)     # energy lost before the calorimeter
        scale *= np.where(leak, 1 - rng.exponential(0.03, (n, 2)), 1.0)
        pt = pt * scale
        fake = rng.random((n, 2)) < 0.02
    else:
        fake = rng.random((n, 2)) < BKG_FAKE_FRACTION
    # extra soft photons (mostly fakes from jets)
    p_extra = [0.93, 0.06, 0.01] if signal else [0.85, 0.12, 0.03]
    n_extra = rng.choice([0, 1, 2], n, p=p_extra)
    ex_valid = np.arange(2)[None, :] < n_extra[:, None]
    ex_pt = 10.0 + rng.exponential(9.0, (n, 2))
    ex_eta = rng.uniform(-2.37, 2.37, (n, 2))
    ex_phi = rng.uniform(-np.pi, np.pi, (n, 2))
    ex_conv = rng.choice([0, 1, 2], size=(n, 2), p=[0.7, 0.15, 0.15])

    pt = np.concatenate([pt, ex_pt], 1)
    eta = np.concatenate([eta, ex_eta], 1)
    phi = np.concatenate([phi, ex_phi], 1)
    conv = np.concatenate([conv, ex_conv], 1)
    fake = np.concatenate([fake, rng.random((n, 2)) < 0.8], 1)
    # reconstruction: |eta| < 2.37 and pT > 10 GeV
    valid = np.concatenate([np.ones((n, 2), bool), ex_valid], 1)
    valid &= (np.abs(eta) < 2.37) & (pt > 10.0)
    tight = np.where(fake, rng.random((n, 4)) < 0.30, rng.random((n, 4)) < 0.92)
    ptcone = np.where(fake, rng.exponential(4.0, (n, 4)), rng.exponential(0.6, (n, 4)))
    etcone = np.where(fake, rng.exponential(5.0, (n, 4)), rng.normal(0.3, 1.2, (n, 4)))
    truth = (~fake) & signal
    trig = rng.random((n, 4)) < 0.96
    pt, valid, eta, phi, conv, tight, ptcone, etcone, truth, trig = sort_objects(
        pt, valid, eta, phi, conv, tight, ptcone, etcone, truth, trig)
    return {"n": valid.sum(1), "valid": valid,
            "photon_pt": pt * MEV, "photon_eta": eta, "photon_phi": phi,
            "photon_E": pt * np.cosh(eta) * MEV, "photon_ptcone30": ptcone * MEV,
            "photon_etcone20": etcone * MEV, "photon_isTightID": tight,
            "photon_truthMatched": truth, "photon_trigMatched": trig, "photon_convType": conv}


def leptons(rng, n, mode, rich):
    """Up to two leptons: W/Z decays in VH, semileptonic top in ttH, rare fakes elsewhere."""
    nl = np.zeros(n, int)
    met_extra = np.zeros(n)
    same_flavour_pair = np.zeros(n, bool)
    if mode == "WH":
        lep = rng.random(n) < 0.33                      # W -> l nu
        nl[lep] = 1
        met_extra[lep] = 25 + rng.exponential(20, lep.sum())
    elif mode == "ZH":
        r = rng.random(n)
        ll, nunu = r < 0.10, (r >= 0.10) & (r < 0.30)   # Z -> ll, Z -> nu nu
        nl[ll] = 2
        same_flavour_pair = ll
        met_extra[nunu] = 60 + rng.exponential(45, nunu.sum())
    elif mode == "ttH":
        nl = rng.choice([0, 1, 2], n, p=[0.45, 0.44, 0.11])
        met_extra = np.where(nl > 0, 20 + rng.exponential(25, n), rng.exponential(10, n))
    elif mode == "bkg":     # fakes; W/Z/top + photons in the jet-rich part
        nl = np.where(rich, rng.choice([0, 1, 2], n, p=[0.70, 0.22, 0.08]),
                      rng.choice([0, 1], n, p=[0.985, 0.015]))
        met_extra = np.where(nl > 0, rng.exponential(25, n), 0.0)
    else:
        nl = rng.choice([0, 1], n, p=[0.985, 0.015])
    valid = np.arange(2)[None, :] < nl[:, None]
    pt = np.where(mode in ("WH", "ZH", "ttH"), 20.0, 10.0) + rng.exponential(25.0, (n, 2))
    eta = np.clip(rng.normal(0, 1.2, (n, 2)), -2.47, 2.47)
    phi = rng.uniform(-np.pi, np.pi, (n, 2))
    typ = rng.choice([11, 13], (n, 2))
    typ[:, 1] = np.where(same_flavour_pair, typ[:, 0], typ[:, 1])
    charge = rng.choice([-1, 1], (n, 2))
    charge[:, 1] = np.where(same_flavour_pair, -charge[:, 0], charge[:, 1])
    z0 = rng.normal(0, 0.05, (n, 2))
    ptcone = rng.exponential(0.5, (n, 2))
    etcone = rng.normal(0.2, 0.8, (n, 2))
    tight = rng.random((n, 2)) < 0.95
    pt, valid, eta, phi, typ, charge, z0, ptcone, etcone, tight = sort_objects(
        pt, valid, eta, phi, typ, charge, z0, ptcone, etcone, tight)
    mass = np.where(typ == 11, 0.000511, 0.10566)
    E = np.sqrt((pt * np.cosh(eta))**2 + mass**2)
    return {"n": valid.sum(1), "valid": valid, "met_extra": met_extra,
            "lep_pt": pt * MEV, "lep_eta": eta, "lep_phi": phi, "lep_E": E * MEV,
            "lep_z0": z0, "lep_ptcone30": ptcone * MEV, "lep_etcone20": etcone * MEV,
            "lep_charge": charge, "lep_type": typ, "lep_isTightID": tight}


def jets(rng, n, mode, rich):
    """Up to eight jets (pT > 25 GeV, |eta| < 4.4) with b-tagging and JVT."""
    K = 8
    nj = {"bkg": lambda: np.where(rich, rng.poisson(3.0, n), rng.poisson(0.6, n)), "ggH": lambda: rng.poisson(0.8, n),
          "VBF": lambda: 2 + rng.poisson(0.5, n), "WH": lambda: rng.poisson(1.6, n),
          "ZH": lambda: rng.poisson(1.6, n), "ttH": lambda: 4 + rng.poisson(1.3, n)}[mode]()
    nj = np.minimum(nj, K)
    valid = np.arange(K)[None, :] < nj[:, None]
    pt = 25.0 + rng.exponential(22.0, (n, K))
    eta = rng.normal(0, 2.0, (n, K))
    flav = rng.choice([0, 4, 5], (n, K), p=[0.85, 0.10, 0.05])
    if mode == "VBF":      # two tag jets in opposite forward hemispheres, large m_jj
        side = rng.choice([-1, 1], n)
        eta[:, 0] = side * np.abs(rng.normal(2.4, 0.9, n))
        eta[:, 1] = -side * np.abs(rng.normal(2.4, 0.9, n))
        pt[:, :2] = 30.0 + rng.exponential(45.0, (n, 2))
        flav[:, :2] = 0
    elif mode in ("WH", "ZH"):   # hadronic V decay: two central jets
        pt[:, :2] = 30.0 + rng.exponential(35.0, (n, 2))
        eta[:, :2] = rng.normal(0, 1.3, (n, 2))
    elif mode == "ttH":          # two b jets from the tops
        pt[:, :4] = 30.0 + rng.exponential(50.0, (n, 4))
        eta[:, :4] = rng.normal(0, 1.3, (n, 4))
        flav[:, :2] = 5
    eta = np.clip(eta, -4.4, 4.4)
    phi = rng.uniform(-np.pi, np.pi, (n, K))
    mv2 = np.where(flav == 5, np.clip(rng.normal(0.85, 0.2, (n, K)), -1, 1),
                   np.where(flav == 4, np.clip(rng.normal(0.1, 0.5, (n, K)), -1, 1),
                            np.clip(rng.normal(-0.7, 0.3, (n, K)), -1, 1)))
    jvt = np.where(np.abs(eta) < 2.4, rng.uniform(0.59, 1.0, (n, K)), rng.uniform(0, 1, (n, K)))
    m_jet = pt * rng.uniform(0.05, 0.2, (n, K))
    pt, valid, eta, phi, flav, mv2, jvt, m_jet = sort_objects(pt, valid, eta, phi, flav, mv2, jvt, m_jet)
    E = np.sqrt((pt * np.cosh(eta))**2 + m_jet**2)
    return {"n": valid.sum(1), "valid": valid,
            "jet_pt": pt * MEV, "jet_eta": eta, "jet_phi": phi, "jet_E": E * MEV,
            "jet_jvt": jvt, "jet_MV2c10": mv2, "jet_trueflav": flav}


def events(rng, n, mode):
    """One event batch as padded object matrices; rows with no photon dropped."""
    rich = rng.random(n) < BKG_RICH_FRACTION if mode == "bkg" else np.zeros(n, bool)
    ph, lp, jt = photons(rng, n, mode), leptons(rng, n, mode, rich), jets(rng, n, mode, rich)
    met = np.hypot(rng.normal(0, 11.0, n), rng.normal(0, 11.0, n)) + lp.pop("met_extra")
    ev = {"photon": ph, "lep": lp, "jet": jt,
          "met_et": met * MEV, "met_phi": rng.uniform(-np.pi, np.pi, n)}
    keep = ph["n"] >= 1
    return select_rows(ev, keep)


def select_rows(ev, rows):
    out = {}
    for k, v in ev.items():
        out[k] = select_rows(v, rows) if isinstance(v, dict) else v[rows]
    return out


def concat_events(parts):
    first = parts[0]
    return {k: concat_events([p[k] for p in parts]) if isinstance(v, dict)
            else np.concatenate([p[k] for p in parts]) for k, v in first.items()}


def make_events(rng, n, mode):
    """Exactly n events of one mode (batches until enough have a photon)."""
    parts, have = [], 0
    while have < n:
        ev = events(rng, int((n - have) * 1.1) + 16, mode)
        parts.append(ev)
        have += len(ev["met_et"])
    ev = concat_events(parts)
    return select_rows(ev, slice(0, n))


# ---------------------------------------------------------------- samples

def event_weights(rng, ev, mode, is_data):
    """mcWeight and scale factors (all 1 for data), trigger flags."""
    n = len(ev["met_et"])
    one = np.ones(n)
    if is_data:
        sf = {k: one for k in ("PILEUP", "ELE", "MUON", "PHOTON", "TAU", "BTAG",
                               "LepTRIGGER", "PhotonTRIGGER")}
        w = one
    else:
        lt = ev["lep"]["lep_type"]
        has_e = ((lt == 11) & ev["lep"]["valid"]).any(1)
        has_mu = ((lt == 13) & ev["lep"]["valid"]).any(1)
        has_jet = ev["jet"]["n"] > 0
        sf = {"PILEUP": np.clip(rng.normal(1.0, 0.08, n), 0.6, 1.4),
              "PHOTON": rng.normal(0.985, 0.015, n),
              "PhotonTRIGGER": rng.normal(0.995, 0.005, n),
              "ELE": np.where(has_e, rng.normal(0.98, 0.015, n), 1.0),
              "MUON": np.where(has_mu, rng.normal(0.99, 0.01, n), 1.0),
              "LepTRIGGER": np.where(has_e | has_mu, rng.normal(0.99, 0.01, n), 1.0),
              "BTAG": np.where(has_jet, rng.normal(1.0, 0.03, n), 1.0),
              "TAU": one}
        w = rng.lognormal(0.0, 0.15, n)
    trig_p = rng.random(n) < 0.995
    return w, sf, trig_p


def build_sample(rng, n, kind, mode=None, period=None):
    """Branch dict for one file. kind 'data' or 'mc'."""
    if kind == "data":
        n_sig = int(round(n * INJECTED_FRACTION))
        modes = list(MC_SAMPLES)
        xs = np.array([MC_SAMPLES[m][2] for m in modes])
        sig_modes = rng.choice(len(modes), n_sig, p=xs / xs.sum())
        parts = [make_events(rng, n - n_sig, "bkg")]
        parts += [make_events(rng, int((sig_modes == i).sum()), m)
                  for i, m in enumerate(modes) if (sig_modes == i).any()]
        ev = concat_events(parts)
        ev = select_rows(ev, rng.permutation(n))
    else:
        ev = make_events(rng, n, mode)
    w, sf, trig_p = event_weights(rng, ev, mode, kind == "data")
    b = {}
    if kind == "data":
        lo, hi = RUN_RANGE[period]
        b["runNumber"] = np.sort(rng.integers(lo, hi + 1, n))
        b["eventNumber"] = rng.integers(1, 2**31 - 1, n)
        b["channelNumber"] = b["runNumber"]
        b["XSection"] = np.ones(n)
        b["SumWeights"] = np.ones(n)
    else:
        _, dsid, xsec, _ = MC_SAMPLES[mode]
        b["runNumber"] = np.full(n, 284500)
        b["eventNumber"] = np.arange(1, n + 1)
        b["channelNumber"] = np.full(n, dsid)
        b["XSection"] = np.full(n, xsec)
        b["SumWeights"] = np.full(n, w.astype(np.float32).sum(dtype=np.float64) / SKIM_EFFICIENCY)
    b["mcWeight"] = w
    for k, v in sf.items():
        b["scaleFactor_" + k] = v
    b["trigP"] = trig_p
    b["trigE"] = ev["lep"]["n"] > 0
    b["trigM"] = np.zeros(n, bool)
    b["met_et"], b["met_phi"] = ev["met_et"], ev["met_phi"]
    for obj, count in (("photon", "photon_n"), ("lep", "lep_n"), ("jet", "jet_n")):
        o = ev[obj]
        b[count] = o["n"]
        for name, _ in VECTORS[count]:
            b[name] = o[name][o["valid"]]       # row-major: event order, then pT order
    if kind == "data":   # no truth in data
        b["photon_truthMatched"] = np.zeros_like(b["photon_truthMatched"])
    return b


def write_sample(path, branches, title):
    """Write one file with deterministic bytes (no timestamps, fixed order)."""
    import h5py
    tmp = path + ".tmp"
    with h5py.File(tmp, "w", libver="earliest", track_order=False) as f:
        g = f.create_group("mini", track_order=False)
        g.attrs["title"] = title
        g.attrs["entries"] = np.int64(len(branches["photon_n"]))
        g.attrs["vector_layout"] = VECTOR_LAYOUT
        for name, dt in SCALARS:
            g.create_dataset(name, data=np.asarray(branches[name]).astype(dt), track_times=False)
        for count, members in VECTORS.items():
            for name, dt in members:
                d = g.create_dataset(name, data=np.asarray(branches[name]).astype(dt),
                                     track_times=False)
                d.attrs["counts"] = count
    os.replace(tmp, path)


def chunked(rng_seed, sample_index, n, fn):
    """Build n events in chunks of CHUNK, each from its own random stream."""
    parts = []
    for c, start in enumerate(range(0, n, CHUNK)):
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([rng_seed, sample_index, c])))
        parts.append(fn(rng, min(CHUNK, n - start)))
    if len(parts) == 1:
        return parts[0]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def plan(size):
    """[(relative path, kind, mode or period, n events)] for a size."""
    n_data, n_mc = SIZES[size]
    total_lumi = sum(LUMI_FB.values())
    out = []
    for p, lumi in LUMI_FB.items():
        out.append((f"Data/data_{p}.GamGam.h5", "data", p, int(round(n_data * lumi / total_lumi))))
    for mode, (stem, _, _, share) in MC_SAMPLES.items():
        out.append((f"MC/{stem}.h5", "mc", mode, int(round(n_mc * share))))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="data directory to create")
    ap.add_argument("--size", default="default", choices=sorted(SIZES))
    ap.add_argument("--seed", type=int, default=125)
    a = ap.parse_args(argv)
    t0 = time.time()
    for sub in ("Data", "MC"):
        os.makedirs(os.path.join(a.out, sub), exist_ok=True)
    for i, (rel, kind, what, n) in enumerate(plan(a.size)):
        if kind == "data":
            fn = lambda rng, m, p=what: build_sample(rng, m, "data", period=p)
        else:
            fn = lambda rng, m, mode=what: build_sample(rng, m, "mc", mode=mode)
        b = chunked(a.seed, i, n, fn)
        if kind == "mc" and n > CHUNK:   # one SumWeights per sample
            b["SumWeights"] = np.full(n, b["mcWeight"].astype(np.float32).sum(dtype=np.float64)
                                      / SKIM_EFFICIENCY)
        write_sample(os.path.join(a.out, rel), b, rel.split("/")[-1][:-3])
        print(f"{rel}: {n} events", flush=True)
    print(f"generated size={a.size} seed={a.seed} in {time.time() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
