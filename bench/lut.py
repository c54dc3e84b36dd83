"""Benchmark of `make-lut`: build time (5 bands x 104 detectors), evaluation speed and accuracy,
database store/load time, peak memory; and the built-in atmosphere against the MODTRAN tables.

Usage: python bench/lut.py [--points 1000000] [--check 2000]

Uses the HSC component curves in ../shared/data/hsc when present (one curve per detector), else the
embedded HSC curves with a synthetic +-1 % per-detector tilt. The machine may be shared: the script
prints the time of a reference numpy operation (exp of 10^7 doubles; ~0.05 s on an idle core) so that
numbers can be compared across runs.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from fgcm_db.atmosphere import BuiltinAtmosphere, FgcmAtmosphereTable
from fgcm_db.camera import hsc_like_camera
from fgcm_db.configs.lut import LutConfig
from fgcm_db.db import Database
from fgcm_db.lut import build_lut, integration_weights, load_lut, store_lut
from fgcm_db.sites import get_site
from fgcm_db.throughput import Throughput, default_throughput, load_throughput

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BANDS = ["HSC-G", "HSC-R", "HSC-I", "HSC-Z", "HSC-Y"]


def throughput_104(camera) -> Throughput:
    if (SHARED / "hsc").is_dir():
        return load_throughput(SHARED / "hsc", camera).select(BANDS)
    base = default_throughput()
    lam = base.wavelength_nm
    tilt = np.linspace(-0.01, 0.01, len(camera))[:, None] * (lam - 700.0)[None, :] / 300.0
    return Throughput(lam, {f: base.curve(f) for f in BANDS},
                      {f: (camera.detector, base.curve(f)[None, :] * (1 + tilt)) for f in BANDS}, None, "synthetic")


def reference_seconds() -> float:
    x = np.random.default_rng(0).random(10**7)
    t = time.perf_counter()
    np.exp(x)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--check", type=int, default=2000)
    args = ap.parse_args()
    print(f"reference: exp(1e7 doubles) {reference_seconds():.3f} s (idle ~0.05 s)")
    camera = hsc_like_camera()
    atm = BuiltinAtmosphere(get_site("subaru"))
    thr = throughput_104(camera)
    atm.transmission(thr.wavelength_nm, 1.0, 263, 0.0, 1.0, 1.0, 616)   # load the cross sections once
    t0, c0 = time.perf_counter(), time.process_time()
    lut = build_lut(atm, thr, camera, LutConfig())
    print(f"build: {len(lut.physical_filters)} filters x {len(lut.detectors)} detectors (+ mean), "
          f"grid {len(lut.axes['lnpwv'])} lnPWV x {len(lut.axes['secz'])} secz: "
          f"{time.perf_counter() - t0:.2f} s wall, {time.process_time() - c0:.2f} s CPU, {lut.nbytes / 1e6:.0f} MB")

    rng = np.random.default_rng(1)
    n = args.points
    fi, di = rng.integers(0, 5, n), rng.integers(-1, len(lut.detectors), n)
    pars = dict(pwv=np.exp(rng.uniform(np.log(0.1), np.log(3.6), n)), o3=rng.uniform(220, 310, n),
                tau=np.exp(rng.uniform(np.log(0.002), np.log(0.35), n)), alpha=rng.uniform(0, 2, n),
                secz=rng.uniform(1.0, lut.axes["secz"][-1], n), pressure=rng.normal(616.0, 4.0, n))
    best, best_cpu = np.inf, np.inf
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        v = lut.evaluate(fi, di, **pars)
        best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.process_time() - c0)
    print(f"evaluate: {n} points in {best:.3f} s wall, {best_cpu:.3f} s CPU (best of 3), "
          f"{n / best / 1e6:.2f} M points/s")

    m = args.check
    lam = thr.wavelength_nm
    wq = integration_weights(lam)
    t = atm.transmission(lam, *[pars[p][:m] for p in ("pwv", "o3", "tau", "alpha", "secz", "pressure")])
    curves = np.stack([thr.curve(BANDS[f], None if d < 0 else int(lut.detectors[d])) for f, d in zip(fi[:m], di[:m])])
    s = curves * t * wq / lam
    i0 = s.sum(1)
    i10 = (s * (lam[None, :] - lut.lambda_std[fi[:m]][:, None])).sum(1) / i0
    dm = 2.5 * np.log10(v.i0[:m] / i0) * 1e3
    print(f"accuracy at {m} random points: max |d 2.5 log10 I0| = {np.abs(dm).max():.3f} mmag "
          f"(p99 {np.percentile(np.abs(dm), 99):.3f}), max |d I10| = {np.abs(v.i10[:m] - i10).max():.4f} nm")
    for b, f in enumerate(BANDS):
        sel = fi[:m] == b
        print(f"  {f}: max |dmag| {np.abs(dm[sel]).max():.3f} mmag, max |dI10| {np.abs(v.i10[:m] - i10)[sel].max():.4f} nm")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lut.duckdb"
        t0 = time.perf_counter()
        with Database(path) as db, db.stage("make-lut") as run_id:
            store_lut(db, lut, run_id)
        t_store = time.perf_counter() - t0
        with Database(path, read_only=True) as db:
            t0, c0 = time.perf_counter(), time.process_time()
            load_lut(db)
            t_load, c_load = time.perf_counter() - t0, time.process_time() - c0
        print(f"database: store {t_store:.2f} s, load {t_load:.2f} s wall / {c_load:.2f} s CPU, "
              f"file {path.stat().st_size / 1e6:.0f} MB")

    for name, site in (("subaru2", "subaru"), ("lsst2", "rubin")):
        path = SHARED / "atmosphere" / f"fgcm_atm_{name}_test.fits"
        if not path.is_file():
            continue
        tab = FgcmAtmosphereTable(path)
        ours = BuiltinAtmosphere(get_site(site))
        pwv = np.exp(tab.pwv_nodes) if tab.pwv_log else tab.pwv_nodes
        g = np.array(np.meshgrid(pwv, tab.o3_nodes, tab.secz_nodes, indexing="ij")).reshape(3, -1)
        p = tab.pressure_ref_hpa
        tt = tab.transmission(lam, g[0], g[1], 0.0, 1.0, g[2], p)
        tb = ours.transmission(lam, g[0], g[1], 0.0, 1.0, g[2], p)
        print(f"built-in vs {path.name} over its {g.shape[1]} PWV/O3/secz nodes (P = {p:.1f} hPa):")
        for f in BANDS:
            c = thr.curve(f)
            a0, b0 = (tt * c * wq / lam).sum(1), (tb * c * wq / lam).sum(1)
            la, lb = (tt * c * wq).sum(1) / a0, (tb * c * wq).sum(1) / b0
            d = 2.5 * np.log10(b0 / a0) * 1e3
            print(f"  {f}: d(2.5 log10 I0) {d.min():+6.1f} .. {d.max():+6.1f} mmag, "
                  f"max |d mean wavelength| {np.abs(lb - la).max():.2f} nm")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
