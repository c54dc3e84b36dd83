"""Benchmark of the FGCM fit: time per chi2 + gradient evaluation, time per cycle, peak RSS.

Synthetic observations (random stars, visits of 104 detectors, 4 bands, nights of 12 visits) through
the real look-up table (built in memory from the default atmosphere and throughput), so the timing
includes the per-(visit, detector) LUT evaluations. Not a test: it prints numbers.

    python bench/fit.py --sizes 1e5,1e6,1e7 --cycle-size 2e6 --max-iter 50

``--positions`` gives every observation a detector position (``obs_uv``, ``obs_fp_offset``), as the
database does (float32, as fit.data loads them), so that the sub-detector superstar and the gray gradient run too.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import time

import numpy as np

from fgcm_db.atmosphere import load_atmosphere
from fgcm_db.configs.fit import FitConfig
from fgcm_db.configs.lut import LutConfig
from fgcm_db.fit.chisq import Chisq
from fgcm_db.fit.data import LutPassbands, standard_atmosphere
from fgcm_db.fit.engine import _Cycle, run_cycle
from fgcm_db.fit.inputs import CycleInputs
from fgcm_db.lut import build_lut
from fgcm_db.photometry import ab_zeropoint_no_throughput
from fgcm_db.sites import get_site
from fgcm_db.throughput import default_throughput

OBS_PER_VISIT = 20_000
N_DET = 104
BANDS = ["g", "r", "i", "z"]


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def make_lut():
    site = get_site("subaru")
    thr = default_throughput()
    return build_lut(load_atmosphere(None, site), thr.select(["HSC-G", "HSC-R", "HSC-I", "HSC-Z"]), None, LutConfig())


def synthetic_inputs(lut, n_obs: int, seed: int = 1, positions: bool = False) -> CycleInputs:
    """Random but well-formed inputs: every star seen ~15 times, 12 visits per night; with ``positions``
    uniform positions on the detectors (normalised -1..1, focal-plane offsets up to 10 mm)."""
    rng = np.random.default_rng(seed)
    n_visits = max(n_obs // OBS_PER_VISIT, 24)
    n_stars = max(n_obs // 15, 100)
    visit = np.sort(rng.integers(0, n_visits, n_obs)).astype(np.int32)
    star = rng.integers(0, n_stars, n_obs).astype(np.int64)
    det = rng.integers(0, N_DET, n_obs).astype(np.int32)
    band = np.arange(n_visits) % 4
    night = np.arange(n_visits) // 12
    mjd = 60000 + 2.0 * night + 0.3 + 0.3 * ((np.arange(n_visits) % 12) / 12)
    secz = 1.0 + rng.uniform(0, 0.8, n_visits)
    true_mag = rng.uniform(16, 22, n_stars)
    err = 0.003 + 0.02 * 10 ** (0.4 * (true_mag[star] - 22))
    std = standard_atmosphere(lut)
    idx = list(lut.physical_filters).index
    rows = [idx(f) for f in ("HSC-G", "HSC-R", "HSC-I", "HSC-Z")]
    inp = CycleInputs(
        obs_star=star, obs_visit=visit, obs_detector=det,
        obs_mag=true_mag[star] - 28.0 + rng.normal(0, 1, n_obs) * err, obs_err=err,
        obs_secz=secz[visit] + rng.normal(0, 0.01, n_obs), obs_delta_aper=rng.normal(0.02, 0.01, n_obs),
        star_id=np.arange(n_stars, dtype=np.int64), star_reserved=(np.arange(n_stars) % 10) == 0,
        visit_id=np.arange(n_visits, dtype=np.int64), visit_band=band, visit_filter=band.copy(), visit_mjd=mjd,
        visit_night_id=(60000 + 2 * night).astype(np.int64), visit_exptime=np.full(n_visits, 150.0),
        visit_pmb=np.full(n_visits, 616.0), visit_secz=secz,
        visit_det_secz=np.repeat(secz[:, None], N_DET, axis=1),
        detector_id=np.arange(N_DET, dtype=np.int64), detector_lut=np.full(N_DET, -1),
        filters=["HSC-G", "HSC-R", "HSC-I", "HSC-Z"], filter_band=np.arange(4), filter_lut=np.array(rows),
        filter_in_lut=np.ones(4, bool), bands=BANDS, fit_band=np.ones(4, bool),
        lambda_std=np.asarray(lut.lambda_std)[rows], i10_std=np.asarray(lut.i10_std)[rows],
        std_wavelength=np.asarray(lut.wavelength_nm), std_throughput=np.asarray(lut.std_passbands)[rows],
        zp_ab=ab_zeropoint_no_throughput(50.0, 3.0), secz_range=(1.0, 3.0), passbands=LutPassbands(lut), std=std,
    )
    if not positions:
        return inp
    uv = rng.uniform(-1.0, 1.0, (n_obs, 2)).astype(np.float32)  # float32, as fit.data loads them
    return dataclasses.replace(inp, obs_uv=uv, obs_fp_offset=10.0 * uv)


def time_evaluations(lut, n_obs: int, repeats: int = 5) -> None:
    inp = synthetic_inputs(lut, n_obs)
    cfg = FitConfig(min_star_per_exp=10)
    cy = _Cycle(inp, cfg, 1, None, False)
    cy._time_structure()
    cy._observation_arrays()
    cy._initial_state()
    cy._sed_and_colour()
    data = cy._data(None)
    free = np.ones(cy.layout.size, dtype=bool)
    chisq = Chisq(data, inp.passbands, cy.layout, inp.std, free)
    p = cy.std_p
    chisq(p)
    t0 = time.perf_counter()
    for _ in range(repeats):
        chisq(p)
    dt = (time.perf_counter() - t0) / repeats
    print(f"n_obs {n_obs:>10,d}  pairs {len(cy.pair_visit):>8,d}  chi2+gradient {dt:7.3f} s "
          f"({dt / n_obs * 1e6:.3f} s per 10^6 obs)  peak RSS {peak_rss_gb():.2f} GB", flush=True)


def time_cycle(lut, n_obs: int, max_iter: int, positions: bool) -> None:
    inp = synthetic_inputs(lut, n_obs, positions=positions)
    cfg = FitConfig(min_star_per_exp=10, max_iter=max_iter)
    t0 = time.perf_counter()
    out0 = run_cycle(inp, cfg, 0, None)
    t1 = time.perf_counter()
    out1 = run_cycle(inp, cfg, 1, out0.state)
    t2 = time.perf_counter()
    print(f"cycle 0 (frozen atmosphere, {out0.n_evaluations} evaluations) {t1 - t0:.1f} s; "
          f"cycle 1 ({out1.n_evaluations} evaluations, {int(out1.free.sum())} free parameters) {t2 - t1:.1f} s "
          f"on {n_obs:,d} observations; peak RSS {peak_rss_gb():.2f} GB", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e5,1e6", help="observation counts for the evaluation timing")
    ap.add_argument("--cycle-size", type=float, default=2e6, help="observations for the cycle timing (0: skip)")
    ap.add_argument("--max-iter", type=int, default=50)
    ap.add_argument("--positions", action="store_true", help="detector positions for the cycle timing")
    args = ap.parse_args()
    t0 = time.perf_counter()
    lut = make_lut()
    print(f"LUT built in {time.perf_counter() - t0:.1f} s", flush=True)
    for size in filter(None, args.sizes.split(",")):
        time_evaluations(lut, int(float(size)))
    if args.cycle_size:
        time_cycle(lut, int(args.cycle_size), args.max_iter, args.positions)


if __name__ == "__main__":
    main()
