"""``fgcm-db demo``: simulate a tract, ingest it, calibrate it, and compare with the simulation's truth.

The whole user flow in one command (what ``examples/calibrate_simulated_tract.sh`` does step by step)::

    WORKDIR/sim/           simulated inputs (sourceTable_visit parquet, visit summary, camera, refcat, truth/)
    WORKDIR/fgcm.toml      the configuration (local background subtraction, the mirror wash date)
    WORKDIR/fgcm.duckdb    the database: inputs, stars, fit cycles, products
    WORKDIR/plots/         the QA plots

The summary printed at the end: fit cycles and convergence, the reserved stars' repeatability per band,
and the zero-point RMS against the truth (``sim/truth/photo_calib.parquet``) after removing one
constant per band (the absolute level is not what a relative calibration measures).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from .db import Database
from .errors import FgcmDbError
from .progress import say
from .stars import ordered_bands


@dataclasses.dataclass(frozen=True)
class TruthComparison:
    """Zero-points of photo_calib against the simulation's truth, per band (mmag).

    ``rms_photometric``: truth-photometric visits the fit also called photometric; ``rms_all``: every
    calibrated (visit, detector); each after removing the band's median difference. ``n_*`` rows used;
    ``coverage``: fraction of (visit, detector) with >= 5 good calibration-star observations that have a
    photo_calib row.
    """

    bands: tuple[str, ...]
    rms_photometric: dict[str, float]
    rms_all: dict[str, float]
    n_photometric: dict[str, int]
    n_all: dict[str, int]
    coverage: float


def compare_with_truth(db_path: str | Path, sim_dir: str | Path, min_stars: int = 5,
                       max_err: float = 0.1) -> TruthComparison:
    """Compare the latest products in ``db_path`` with ``sim_dir/truth/photo_calib.parquet``.

    ``coverage`` counts (visit, detector) with >= ``min_stars`` good observations of calibration stars
    that are not reserved (the stars the grays use; error <= ``max_err`` mag, the fit's
    ``ccd_gray_max_star_err``).
    """
    truth_path = Path(sim_dir) / "truth" / "photo_calib.parquet"
    if not truth_path.is_file():
        raise FgcmDbError(f"no simulation truth at {truth_path}")
    truth = pq.read_table(truth_path, columns=["visit", "detector", "zp_mag", "photometric"]).to_pydict()
    t_key = {(v, d): (z, p) for v, d, z, p in zip(truth["visit"], truth["detector"], truth["zp_mag"],
                                                   truth["photometric"])}
    with Database(db_path, read_only=True) as db:
        rows = db.execute("demo_photo_calib").fetchall()
        stars = db.execute("demo_stars_per_detector", {"min_stars": min_stars, "max_err": max_err}).fetchall()
    bands = tuple(ordered_bands(r[2] for r in rows))
    rms_p, rms_a, n_p, n_a = {}, {}, {}, {}
    for band in bands:
        diff, phot = [], []
        for visit, det, b, zp, photometric in rows:
            if b != band or (visit, det) not in t_key:
                continue
            true_zp, true_phot = t_key[(visit, det)]
            diff.append(zp - true_zp)
            phot.append(bool(photometric and true_phot))
        d = np.asarray(diff)
        p = np.asarray(phot, dtype=bool)
        if not len(d):
            continue
        offset = np.median(d[p]) if p.any() else np.median(d)
        rms_p[band] = float(1000 * np.sqrt(np.mean((d[p] - offset) ** 2))) if p.any() else float("nan")
        rms_a[band] = float(1000 * np.sqrt(np.mean((d - offset) ** 2)))
        n_p[band], n_a[band] = int(p.sum()), len(d)
    calibrated = {(r[0], r[1]) for r in rows}
    wanted = {(v, d) for v, d in stars}
    coverage = len(wanted & calibrated) / len(wanted) if wanted else float("nan")
    return TruthComparison(bands, rms_p, rms_a, n_p, n_a, coverage)


def write_demo_config(path: Path, sim: Path) -> Path:
    """The config a user of this survey would write: subtract the local background measured with each
    source (the simulated images have a residual background), and the date of the mirror wash (from
    ``truth/simulation.json``; an observatory log gives it for real data)."""
    info = json.loads((sim / "truth" / "simulation.json").read_text())
    washes = [info["wash_mjd"]] if info.get("wash_mjd") is not None else []
    path.write_text("[ingest]\nsubtract_local_background = true\n\n"
                    f"[fit]\nwash_mjds = {json.dumps(washes)}\n")
    return path


def run_demo(workdir: str | Path = "fgcm-demo", preset: str = "small", seed: int = 1) -> TruthComparison:
    """Simulate ``preset`` with ``seed`` into ``workdir``, ingest, calibrate-tract, compare with the truth."""
    from .fit.tract import run_calibrate_tract
    from .ingest import run_ingest
    from .simulate import run_simulate

    t0 = time.perf_counter()
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    sim, db_path, plots = work / "sim", work / "fgcm.duckdb", work / "plots"
    for stale in (db_path, db_path.with_name(db_path.name + ".wal")):
        stale.unlink(missing_ok=True)
    say(f"demo 1/3: simulating the {preset} tract (seed {seed}) into {sim}")
    run_simulate(sim, preset=preset, seed=seed)
    config = write_demo_config(work / "fgcm.toml", sim)
    say(f"demo 2/3: ingesting into {db_path} (config {config})")
    run_ingest(db_path, sources=str(sim / "sources"), visits=str(sim / "visit_summary.parquet"),
               camera=str(sim / "camera.yaml"), refcat=str(sim / "refcat.parquet"), config_path=str(config))
    say("demo 3/3: calibrate-tract (look-up table, stars, fit cycles, products, plots)")
    result = run_calibrate_tract(db_path, config_path=config, plots_dir=plots)
    cmp = compare_with_truth(db_path, sim)
    state = "converged" if result.converged else "not converged"
    say("")
    say(f"demo summary ({time.perf_counter() - t0:.0f} s in all)")
    say(f"  fit cycles: {result.n_fit_cycles} ({state}), then final cycle {result.final_cycle}")
    say("  band  reserved-star      zero-point RMS vs truth, mmag (detector-visits)")
    say("        repeatability      photometric          all calibrated")
    for band in cmp.bands:
        rep = result.repeatability.get(band, [float("nan")])[-1] * 1000
        say(f"  {band:<4s}  {rep:6.2f} mmag      {cmp.rms_photometric[band]:6.2f} ({cmp.n_photometric[band]:5d})"
            f"       {cmp.rms_all[band]:6.2f} ({cmp.n_all[band]:5d})")
    say(f"  (visit, detector) with >= 5 good stars that got a photo_calib row: {100 * cmp.coverage:.1f}%")
    say(f"  plots: {plots}/*.png; database: {db_path}")
    say(f"  next: fgcm-db --db {db_path} sql \"SELECT * FROM tract_summary\"; examples/products.sql")
    return cmp
