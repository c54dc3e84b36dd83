"""Benchmark of `fgcm-db ingest` (prints numbers; not a test).

1. Ingest of 10^6 and 10^7 source rows generated on the fly (parquet, one file per visit, 100 000
   rows per file), each size in a fresh subprocess: wall time, rows/s, peak RSS (getrusage).
2. Per-file cost of reading afw `src` FITS catalogs (~10^3 rows each; the real ci_hsc file when
   ../shared/data is present, else a synthetic one), serial and with threads.
3. HEALPix ang->pix (nest, nside 16384) on 10^7 points: hpgeom vs astropy-healpix.

Usage: python bench/ingest.py [--sizes 1e6,1e7] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROWS_PER_VISIT = 100_000
SHARED_SRC = (Path(__file__).resolve().parents[2] / "shared" / "data" / "catalogs" / "faro_hsc"
              / "src_HSC_i_HSC-I_903986_0_31_HSC_runs_ci_hsc_20210407T021858Z.fits")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def write_inputs(workdir: Path, n_rows: int, seed: int = 1) -> tuple[Path, Path]:
    """Parquet source tables (one per visit) and a visit summary for ``n_rows`` sources."""
    rng = np.random.default_rng(seed)
    n = ROWS_PER_VISIT
    n_visits = max(1, n_rows // n)
    src = workdir / f"sources_{n_rows}"
    src.mkdir(parents=True, exist_ok=True)
    flux = rng.uniform(1e3, 1e5, n)
    base = {
        "detector": pa.array(rng.integers(0, 104, n).astype(np.int32)),
        "band": pa.array(np.full(n, "r", dtype=object)).dictionary_encode(),
        "physical_filter": pa.array(np.full(n, "HSC-R", dtype=object)).dictionary_encode(),
        "x": rng.uniform(0, 2047, n), "y": rng.uniform(0, 4175, n),
        "apFlux_12_0_instFlux": flux, "apFlux_12_0_instFluxErr": flux / rng.uniform(5, 2000, n),
        "apFlux_12_0_flag": rng.random(n) < 0.02,
        "apFlux_17_0_instFlux": flux * 1.05, "apFlux_17_0_instFluxErr": flux / rng.uniform(5, 2000, n),
        "localBackground_instFlux": rng.normal(0, 1, n), "extendedness": (rng.random(n) < 0.3).astype(float),
        "pixelFlags_saturatedCenter": rng.random(n) < 0.01, "pixelFlags_interpolatedCenter": rng.random(n) < 0.01,
        "pixelFlags_edge": rng.random(n) < 0.01, "pixelFlags_cr": rng.random(n) < 0.01,
        "pixelFlags_bad": rng.random(n) < 0.01, "sky_source": rng.random(n) < 0.02,
        "deblend_nChild": (rng.random(n) < 0.05).astype(np.int32),
    }
    ra = rng.uniform(149.0, 151.0, n)
    dec = rng.uniform(1.0, 3.0, n)
    visits = 100_000 + np.arange(n_visits)
    for i, v in enumerate(visits):
        cols = {"sourceId": np.arange(v * 10**6, v * 10**6 + n, dtype=np.int64),
                "visit": np.full(n, v, dtype=np.int64),
                "coord_ra": ra + 1e-3 * i, "coord_dec": dec, **base}
        pq.write_table(pa.table(cols), src / f"sourceTable_visit_{v}.parquet")
    det = np.arange(104)
    vv = np.repeat(visits, len(det))
    summary = workdir / f"visit_summary_{n_rows}.parquet"
    pq.write_table(pa.table({
        "visit": vv, "detector": np.tile(det, n_visits).astype(np.int32),
        "band": np.full(len(vv), "r"), "physical_filter": np.full(len(vv), "HSC-R"),
        "expMidptMJD": 59000.3 + (vv - visits[0]) * 0.002, "expTime": np.full(len(vv), 30.0),
        "zenithDistance": np.full(len(vv), 30.0), "boresightRa": np.full(len(vv), 150.0),
        "boresightDec": np.full(len(vv), 2.0), "boresightRotAngle": np.zeros(len(vv)),
        "pressure": np.full(len(vv), 620.0), "psfSigma": np.full(len(vv), 1.7), "skyBg": np.full(len(vv), 100.0),
    }), summary)
    return src, summary


def child_ingest(src: str, summary: str, db: str) -> None:
    """Run in a fresh process: one ingest, then print seconds and peak RSS."""
    from fgcm_db.ingest import run_ingest

    t0 = time.perf_counter()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    counts = run_ingest(db, src, summary)
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
    print(f"RESULT {counts['sources']} {counts['observations']} {dt:.3f} {cpu:.3f} {peak_rss_mb():.0f}", flush=True)


def bench_ingest(workdir: Path, n_rows: int) -> None:
    t0 = time.perf_counter()
    src, summary = write_inputs(workdir, n_rows)
    gen = time.perf_counter() - t0
    db = workdir / f"bench_{n_rows}.duckdb"
    db.unlink(missing_ok=True)
    out = subprocess.run([sys.executable, __file__, "--child", str(src), str(summary), str(db)],
                         capture_output=True, text=True, check=True).stdout
    n_src, n_obs, dt, cpu, rss = out.split("RESULT", 1)[1].split()
    n_src, dt, cpu = int(n_src), float(dt), float(cpu)
    load = os.getloadavg()[0]
    print(f"ingest {n_src:>10,d} rows ({n_src // ROWS_PER_VISIT} parquet files, generated in {gen:.1f} s): "
          f"wall {dt:6.2f} s = {n_src / dt / 1e6:5.2f} M rows/s; CPU {cpu:6.2f} s = {n_src / cpu / 1e6:5.2f} M rows "
          f"per CPU-second; peak RSS {float(rss):6.0f} MB; {int(n_obs):,d} observations kept; "
          f"load average {load:.1f} on {os.cpu_count()} cores")
    shutil.rmtree(src)
    db.unlink(missing_ok=True)


def bench_fits(n_reads: int = 2000) -> None:
    from fgcm_db.readers import read_src_fits_many

    if not SHARED_SRC.is_file():
        print("src FITS read: ../shared/data absent, skipped")
        return
    pattern = r"^src_[^_]+_[^_]+_[^_]+_(?P<visit>\d+)_\d+_(?P<detector>\d+)_"
    paths = [SHARED_SRC] * n_reads
    for threads in (1, 2, 4):
        t0 = time.perf_counter()
        table = read_src_fits_many(paths, pattern, None, None, threads)
        dt = time.perf_counter() - t0
        print(f"src FITS read ({table.num_rows // n_reads} rows/file, {threads} thread(s)): "
              f"{dt / n_reads * 1e3:.2f} ms/file over {n_reads} reads")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        pq.write_table(table, Path(tmp) / "staged.parquet", compression="none")
        dt = time.perf_counter() - t0
    print(f"src FITS staging as parquet (ingest's path into DuckDB): {dt / n_reads * 1e3:.2f} ms/file")


def bench_healpix(n: int = 10_000_000) -> None:
    import astropy.units as u
    import hpgeom

    try:
        from astropy_healpix import HEALPix
    except ImportError:
        print("healpix comparison: astropy-healpix is not installed, skipped")
        return

    rng = np.random.default_rng(3)
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    t0 = time.perf_counter()
    a = hpgeom.angle_to_pixel(16384, ra, dec, nest=True, lonlat=True, degrees=True)
    t_hp = time.perf_counter() - t0
    t0 = time.perf_counter()
    b = HEALPix(nside=16384, order="nested").lonlat_to_healpix(ra * u.deg, dec * u.deg)
    t_ah = time.perf_counter() - t0
    same = np.mean(a == b)
    print(f"healpix ang->pix nest nside 16384, {n:.0e} points: hpgeom {t_hp:.2f} s, astropy-healpix {t_ah:.2f} s "
          f"(identical ids: {same:.6f})")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_ingest(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e6,1e7", help="source rows to ingest, comma-separated")
    parser.add_argument("--workdir", default=None, help="scratch directory (default: a temporary one)")
    args = parser.parse_args()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="fgcm-bench-ingest-"))
    try:
        for size in args.sizes.split(","):
            bench_ingest(workdir, int(float(size)))
        bench_fits()
        bench_healpix()
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
