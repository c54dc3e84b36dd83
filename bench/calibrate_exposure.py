"""Benchmark of `fgcm-db calibrate-exposure` on simulated 2k x 2k exposures (prints numbers, never fails).

For each seed: simulate (not timed), then run the command in-process (FITS read, refcat read, detection,
measurement, astrometry, photometry, DuckDB write) and once as a subprocess (adds interpreter start-up
and imports). Accuracy against the simulation's truth: WCS error on a 32x32 grid (RMS / max, mas),
per-star residual RMS (mas), zero-point minus truth (mmag).

    /work/venv/bin/python bench/calibrate_exposure.py [--seeds 3] [--size 2048]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np

from fgcm_db.astro import angular_separation_deg
from fgcm_db.cli import build_parser
from fgcm_db.exposure.calibrate import run_calibrate_exposure
from fgcm_db.exposure.simulate import SimConfig, simulate_exposure
from fgcm_db.exposure.wcsfit import TanSip


def grid_error_mas(header_text: str, true: TanSip) -> tuple[float, float]:
    from astropy.io import fits
    from astropy.wcs import WCS

    w = WCS(fits.Header.fromstring(header_text, sep="\n"))
    ny, nx = true.shape
    gx, gy = np.meshgrid(np.linspace(0, nx - 1, 32), np.linspace(0, ny - 1, 32))
    ra1, dec1 = w.all_pix2world(gx.ravel(), gy.ravel(), 0)
    ra2, dec2 = true.pixel_to_sky(gx.ravel(), gy.ravel())
    sep = angular_separation_deg(ra1, dec1, ra2, dec2) * 3.6e6
    return float(np.sqrt(np.mean(sep**2))), float(sep.max())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--size", type=int, default=2048)
    opts = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("calibrate-exposure benchmark (2-core machine, possibly shared: see the load average; wall-clock "
          "times unless marked CPU)")
    print(f"{'seed':>4} {'in-proc s':>9} {'cpu s':>5} {'cli s':>6} {'cpu s':>5} {'read':>5} {'detect':>6} {'astrom':>6} "
          f"{'photo':>6} {'write':>6} "
          f"{'n_src':>5} {'match':>5} {'rms ra/dec mas':>14} {'wcs rms/max mas':>15} {'dzp mmag':>8} {'zp_err':>7} "
          f"{'scatter':>7} {'n_zp':>4}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for seed in range(1, opts.seeds + 1):
            n_stars = int(3000 * ((opts.size + 600) / 2648) ** 2)
            sim = simulate_exposure(SimConfig(nx=opts.size, ny=opts.size, n_stars=n_stars, seed=seed))
            fits_path = sim.write(tmp / f"e{seed}.fits")
            ref = sim.write_refcat(tmp / f"r{seed}.parquet")
            db = tmp / f"b{seed}.duckdb"
            argv = ["--db", str(db), "calibrate-exposure", "--exposure", str(fits_path), "--refcat", str(ref)]
            args = build_parser().parse_args(argv)
            t0, c0 = time.perf_counter(), time.process_time()
            run_calibrate_exposure(args)
            t_in, cpu = time.perf_counter() - t0, time.process_time() - c0
            t0, child0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            cli_argv = ["--db", str(tmp / f"cli{seed}.duckdb"), *argv[2:]]
            subprocess.run([sys.executable, "-m", "fgcm_db.cli", *cli_argv], check=True, capture_output=True)
            t_cli = time.perf_counter() - t0
            child1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cli_cpu = (child1.ru_utime - child0.ru_utime) + (child1.ru_stime - child0.ru_stime)
            with duckdb.connect(str(db), read_only=True) as con:
                (header, n_src, n_match, rms_ra, rms_dec, zp, zp_err, scatter, n_zp, timings), = con.execute(
                    "SELECT wcs_header, n_sources, n_astrom_match, astrom_rms_ra_arcsec, astrom_rms_dec_arcsec, "
                    "zp_mag, zp_err, zp_scatter, n_zp, timings FROM exposure_calibration").fetchall()
            timings = json.loads(timings)
            wrms, wmax = grid_error_mas(header, sim.true_wcs)
            dzp = 1e3 * (zp - sim.zp_true_ap12)
            rows.append((t_in, t_cli, wrms, wmax, dzp, cpu, cli_cpu))
            print(f"{seed:>4} {t_in:>9.2f} {cpu:>5.2f} {t_cli:>6.2f} {cli_cpu:>5.2f} {timings['read']:>5.2f} "
                  f"{timings['detect_measure']:>6.2f} "
                  f"{timings['astrometry']:>6.2f} "
                  f"{timings['photocal']:>6.3f} {timings['write']:>6.2f} {n_src:>5} {n_match:>5} "
                  f"{1e3 * rms_ra:>6.1f}/{1e3 * rms_dec:<7.1f} {wrms:>6.1f}/{wmax:<8.1f} {dzp:>+8.1f} "
                  f"{1e3 * zp_err:>6.2f}m {scatter:>7.3f} {n_zp:>4}")
    arr = np.array(rows)
    print(f"median in-process {np.median(arr[:, 0]):.2f} s wall ({np.median(arr[:, 5]):.2f} s CPU), "
          f"CLI {np.median(arr[:, 1]):.2f} s wall ({np.median(arr[:, 6]):.2f} s CPU); worst WCS "
          f"{arr[:, 2].max():.1f} mas RMS / {arr[:, 3].max():.1f} mas max; "
          f"|dzp| <= {np.abs(arr[:, 4]).max():.1f} mmag; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
