"""Benchmark of `fgcm-db build-stars`: wall time and peak memory for 10^6 and 10^7 observations.

Generates a synthetic tract on the fly (5 bands x 20 visits by default, detection probability 0.9, astrometric
scatter 0.07 arcsec, stars uniform in a 1.7 deg square at RA 0 so the field straddles RA = 0/360),
writes it to ``observations`` of a temporary database, then runs the build in a fresh process so
that its peak RSS (``resource.getrusage``) is the build's own. Prints one line per size.

    /work/venv/bin/python bench/build_stars.py                 # 1e6 and 1e7
    /work/venv/bin/python bench/build_stars.py --n-obs 1e6     # one size
    /work/venv/bin/python bench/build_stars.py --n-obs 1e7 --visits-per-band 200   # a deep field
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from fgcm_db.astro import healpix_nest, tangent_plane_to_sky
from fgcm_db.config import load_config
from fgcm_db.db import Database
from fgcm_db.stars import build_stars

BANDS = ("g", "r", "i", "z", "y")
VISITS_PER_BAND = 20
P_DETECT = 0.9
SCATTER_ARCSEC = 0.07
HALF_WIDTH_DEG = 0.85


def generate(db_path: Path, n_obs: int, visits_per_band: int = VISITS_PER_BAND, seed: int = 1) -> int:
    """Write about ``n_obs`` synthetic observations into ``observations``; returns the row count."""
    rng = np.random.default_rng(seed)
    n_stars = int(n_obs / (len(BANDS) * visits_per_band * P_DETECT))
    xi = rng.uniform(-HALF_WIDTH_DEG, HALF_WIDTH_DEG, n_stars)
    eta = rng.uniform(-HALF_WIDTH_DEG, HALF_WIDTH_DEG, n_stars)
    star_ra, star_dec = tangent_plane_to_sky(xi, eta, 0.0, 0.0)
    mag = rng.uniform(17.0, 23.0, n_stars)
    total = 0
    with Database(db_path) as db:
        visit = 0
        for band in BANDS:
            for _ in range(visits_per_band):
                visit += 1
                seen = np.flatnonzero(rng.random(n_stars) < P_DETECT)
                scatter = SCATTER_ARCSEC / 3600.0
                ra, dec = tangent_plane_to_sky(
                    rng.normal(0, scatter, seen.size), rng.normal(0, scatter, seen.size), star_ra[seen], star_dec[seen]
                )
                flux = 10 ** (-0.4 * (mag[seen] - 30.0))
                m = seen.size
                table = pa.table({
                    "sourceId": visit * 10**9 + np.arange(m, dtype=np.int64),
                    "visit": np.full(m, visit, dtype=np.int64),
                    "detector": (seen % 104).astype(np.int32),
                    "band": pa.array([band] * m),
                    "physical_filter": pa.array([f"HSC-{band.upper()}"] * m),
                    "ra": ra, "dec": dec, "healpix": healpix_nest(ra, dec),
                    "inst_flux": flux, "inst_flux_err": flux * 0.01,
                    "inst_mag": -2.5 * np.log10(flux / 30.0), "inst_mag_err": np.full(m, 0.0109),
                    "delta_mag_bkg": np.zeros(m),
                })
                db.con.register("generated_obs", table)
                db.con.execute(
                    "INSERT INTO observations (sourceId, visit, detector, band, physical_filter, ra, dec, "
                    "healpix, inst_flux, inst_flux_err, inst_mag, inst_mag_err, delta_mag_bkg) "
                    "SELECT sourceId, visit, detector, band, physical_filter, ra, dec, healpix, inst_flux, "
                    "inst_flux_err, inst_mag, inst_mag_err, delta_mag_bkg FROM generated_obs"
                )
                db.con.unregister("generated_obs")
                total += m
    return total


def run_build(db_path: Path, threads: int, memory_limit: str) -> None:
    """Time one build on an existing database (called in a fresh process) and print the numbers."""
    config = load_config(overrides={"stars": {"threads": threads, "memory_limit": memory_limit}})
    with Database(db_path) as db:
        db.execute("stars_memory_limit", {"memory_limit": memory_limit})
        db.execute("stars_threads", {"threads": threads})
        start = time.perf_counter()
        with db.stage("build-stars", config.to_dict()) as run_id:
            summary = build_stars(db, config, run_id)
        elapsed = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(
        f"{summary.n_observations:>10,d} obs  {elapsed:7.1f} s  {summary.n_observations / elapsed:>11,.0f} obs/s  "
        f"peak RSS {peak_gb:5.2f} GB  stars {summary.n_stars:,}  assigned {summary.n_star_obs:,}  "
        f"(threads {threads}, memory_limit {memory_limit})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-obs", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--visits-per-band", type=int, default=VISITS_PER_BAND)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="3GB")
    parser.add_argument("--build-only", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_only:
        run_build(Path(args.build_only), args.threads, args.memory_limit)
        return
    print("build-stars benchmark (machine shared with other jobs: times are upper bounds)")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.n_obs:
            path = Path(tmp) / f"bench_{int(n)}.duckdb"
            start = time.perf_counter()
            rows = generate(path, int(n), args.visits_per_band)
            print(f"  generated {rows:,} observations ({len(BANDS)} bands x {args.visits_per_band} visits) in "
                  f"{time.perf_counter() - start:.1f} s", flush=True)
            subprocess.run(
                [sys.executable, __file__, "--build-only", str(path), "--threads", str(args.threads),
                 "--memory-limit", args.memory_limit],
                check=True,
            )


if __name__ == "__main__":
    main()
