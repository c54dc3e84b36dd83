"""``fgcm-db calibrate-tract``: the whole job, from ingested observations to the output products.

One stage (one ``runs`` row, one transaction): make the look-up table when missing (default HSC
throughput and the built-in atmosphere), build the stars when missing, run fit cycles until the
reserved stars' raw repeatability of every band improves by less than the tolerance (or the cycle
limit), then a final cycle without fit whose results become the products
(:mod:`fgcm_db.products`). The cycle protocol is FGCM_LESSONS.md 1, carried out by
:func:`fgcm_db.fit.cycle.fit_cycle` from the cycle number: cycle 0 holds the standard atmosphere,
cycle 1 starts from it, later cycles start from the previous fit (``[fit] warm_start_from_cycle``),
the automatic exposure cuts only tighten (``[fit] cuts_only_tighten``), and the final cycle fits
nothing. Convergence is FGCMCAL_PIPELINE.md 6.1: after cycle n >= 1, converged when for every band
``rep[n-1] - rep[n] < tolerance`` (one-sided: a worsening counts as converged; a band whose
repeatability cannot be measured passes).

``--tract N`` restricts the fit to the stars inside the sky region ``[tract.regions.N]`` and the
visits that observed them (or whose boresight lies in the region); without it everything ingested is
one tract. A new run replaces the fit rows and products of earlier runs of the same tract, and an
interrupted run leaves the database as it was (the transaction is never committed).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
from sqlglot import exp

from ..astro import angular_separation_deg
from ..config import Config, load_config
from ..configs.tract import TractRegion
from ..db import Database
from ..errors import FgcmDbError
from ..progress import say, status
from .cycle import CycleResult, fit_cycle
from .data import fetch, load_inputs
from .inputs import CycleInputs
from ..products import atmosphere_model, write_products
from .tables import TABLES as FIT_TABLES

log = logging.getLogger(__name__)


@dataclasses.dataclass
class TractResult:
    """What a calibrate-tract run did.

    Attributes
    ----------
    run_id, tract : the run and its tract (None = the whole database).
    n_fit_cycles : fit cycles run; final_cycle : the number of the no-fit cycle.
    converged : the repeatability rule was met before the cycle limit.
    repeatability : band -> reserved raw repeatability of each cycle, mag (NaN: not measurable).
    chi2_per_dof : per fit cycle.
    products : :class:`fgcm_db.products.ProductSummary`; wall_time_s : seconds.
    timings : seconds per step (lut, stars, load, cycle N, final, products).
    """

    run_id: int
    tract: int | None
    n_fit_cycles: int
    final_cycle: int
    converged: bool
    repeatability: dict[str, list[float]]
    chi2_per_dof: list[float]
    products: object
    wall_time_s: float
    timings: dict[str, float]


def improved_by_less_than(previous: dict[str, float], current: dict[str, float], tolerance: float) -> bool:
    """FGCMCAL_PIPELINE.md 6.1: every band's repeatability improved by less than ``tolerance`` (mag).

    One-sided (a worsening counts as converged); bands not measurable in either cycle pass.
    """
    for band, rep in current.items():
        before = previous.get(band, math.nan)
        if math.isfinite(before) and math.isfinite(rep) and before - rep >= tolerance:
            return False
    return True


def in_region(region: TractRegion, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Boolean mask of the positions (degrees) inside the region."""
    ra = np.asarray(ra, dtype=np.float64) % 360.0
    dec = np.asarray(dec, dtype=np.float64)
    if region.is_circle:
        return angular_separation_deg(ra, dec, region.ra, region.dec) <= region.radius_deg
    if region.ra_min <= region.ra_max:
        in_ra = (ra >= region.ra_min) & (ra <= region.ra_max)
    else:  # the box straddles RA = 0
        in_ra = (ra >= region.ra_min) | (ra <= region.ra_max)
    return in_ra & (dec >= region.dec_min) & (dec <= region.dec_max)


def restrict_inputs(inputs: CycleInputs, keep_visit: np.ndarray, keep_star: np.ndarray) -> CycleInputs:
    """The inputs of a subset of visits and stars (observations of both), index arrays renumbered."""
    keep_obs = keep_visit[inputs.obs_visit] & keep_star[inputs.obs_star]
    new_visit = np.cumsum(keep_visit) - 1
    new_star = np.cumsum(keep_star) - 1
    changes = {
        "obs_star": new_star[inputs.obs_star[keep_obs]], "obs_visit": new_visit[inputs.obs_visit[keep_obs]],
        "star_id": inputs.star_id[keep_star], "star_reserved": inputs.star_reserved[keep_star],
        "visit_det_secz": inputs.visit_det_secz[keep_visit],
    }
    for f in dataclasses.fields(inputs):
        if f.name in changes:
            continue
        if f.name.startswith("obs_"):
            changes[f.name] = getattr(inputs, f.name)[keep_obs]
        elif f.name.startswith("visit_"):
            changes[f.name] = getattr(inputs, f.name)[keep_visit]
    return dataclasses.replace(inputs, **changes)


def tract_selection(db: Database, inputs: CycleInputs, region: TractRegion) -> tuple[np.ndarray, np.ndarray]:
    """(visit mask, star mask) of a tract: stars inside the region, visits that observed one of them
    or whose boresight lies inside it."""
    stars = fetch(db, "tract_star_positions")
    pos = np.searchsorted(stars["star_id"], inputs.star_id)
    keep_star = in_region(region, stars["ra"][pos], stars["dec"][pos])
    keep_visit = np.zeros(inputs.n_visits, dtype=bool)
    keep_visit[inputs.obs_visit[keep_star[inputs.obs_star]]] = True
    bore = fetch(db, "tract_visit_boresights")
    vpos = np.searchsorted(bore["visit"], inputs.visit_id)
    keep_visit |= in_region(region, bore["boresight_ra"][vpos], bore["boresight_dec"][vpos])
    return keep_visit, keep_star


def _region(config: Config, tract: int | None) -> TractRegion | None:
    if tract is None:
        return None
    region = config.tract.regions.get(str(tract))
    if region is None:
        known = ", ".join(sorted(config.tract.regions)) or "none"
        raise FgcmDbError(f"--tract {tract}: no [tract.regions.{tract}] in the config (defined: {known}); "
                          "declare it with ra, dec, radius_deg or ra_min, ra_max, dec_min, dec_max")
    return region


def _ensure_lut(db: Database, config: Config, run_id: int) -> None:
    """Make and store the default look-up table when the database has none."""
    from ..atmosphere import load_atmosphere
    from ..lut import build_lut, store_lut
    from ..sites import get_site
    from ..throughput import default_throughput
    from .data import site_of

    if db.table_exists("lut_meta") and db.row_count("lut_meta") > 0:
        return
    site = get_site(config.lut.site) if config.lut.site else site_of(db)
    with status("calibrate-tract: making the look-up table (default HSC throughput, built-in atmosphere)"):
        atmosphere = load_atmosphere(config.tract.atmosphere or None, site)
        lut = build_lut(atmosphere, default_throughput(), None, config.lut)
        store_lut(db, lut, run_id)
    say(f"calibrate-tract: made the look-up table: {', '.join(lut.physical_filters)}")


def _ensure_stars(db: Database, config: Config, run_id: int) -> None:
    from ..stars import build_stars, stars_are_built

    if stars_are_built(db):
        return
    summary = build_stars(db, config, run_id)
    say(f"calibrate-tract: built {summary.n_stars:,} stars ({summary.n_reserved:,} reserved) from "
        f"{summary.n_observations:,} observations")


def _delete_previous_runs(db: Database, tract: int | None) -> None:
    """Remove the fit rows of earlier calibrate-tract runs of the same tract (their products are
    replaced by :func:`fgcm_db.products.write_products`)."""
    earlier = [r[0] for r in db.execute("tract_previous_runs", {"tract": tract}).fetchall()]
    if not earlier:
        return
    ids = [exp.Literal.number(int(r)) for r in earlier]
    for table in (*FIT_TABLES, "tract_summary"):
        db.con.execute(exp.delete(exp.to_table(table)).where(
            exp.column("run_id").isin(*ids)).sql("duckdb"))


def _cycle_line(result: CycleResult, previous: dict[str, float] | None, converged: bool) -> str:
    parts = []
    for band, rep in result.repeatability.items():
        text = f"{band} {rep * 1000:.2f}" if math.isfinite(rep) else f"{band} n/a"
        before = (previous or {}).get(band, math.nan)
        if math.isfinite(before) and math.isfinite(rep):
            text += f" ({(rep - before) * 1000:+.2f})"
        parts.append(text)
    kind = "final, no fit" if result.final else "fit"
    state = " converged" if converged else ""
    return (f"calibrate-tract: cycle {result.cycle} ({kind}) repeatability mmag: {', '.join(parts)}; "
            f"chi2/dof {result.chi2_per_dof:.3f}{state}")


def calibrate(db: Database, config: Config, run_id: int, tract: int | None, max_cycles: int,
              tolerance: float) -> TractResult:
    """The work of a calibrate-tract run on an open database, inside the caller's transaction."""
    t0 = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(step: str, since: float) -> float:
        now = time.perf_counter()
        timings[step] = now - since
        return now

    region = _region(config, tract)
    _ensure_lut(db, config, run_id)
    atmosphere_model(db, config.tract)  # fail now, not after the fit, when the transmission model is unknown
    t = lap("lut", t0)
    _ensure_stars(db, config, run_id)
    t = lap("stars", t)
    with status("calibrate-tract: loading observations"):
        inputs = load_inputs(db, config.fit)
    if region is not None:
        keep_visit, keep_star = tract_selection(db, inputs, region)
        if not keep_star.any():
            raise FgcmDbError(f"--tract {tract}: no star lies in its region ({region.describe()})")
        inputs = restrict_inputs(inputs, keep_visit, keep_star)
        say(f"calibrate-tract: tract {tract} ({region.describe()}): {inputs.n_visits} visits, "
            f"{inputs.n_stars:,} stars, {inputs.n_obs:,} observations")
    _delete_previous_runs(db, tract)
    t = lap("load", t)

    reps: dict[str, list[float]] = {b: [] for b in inputs.bands}
    chi2: list[float] = []
    result: CycleResult | None = None
    converged = False
    for cycle in range(max_cycles):
        previous_rep = result.repeatability if result is not None else None
        result = fit_cycle(db, config, run_id, cycle, previous=result, inputs=inputs)
        converged = previous_rep is not None and improved_by_less_than(previous_rep, result.repeatability, tolerance)
        for band, rep in result.repeatability.items():
            reps[band].append(rep)
        chi2.append(result.chi2_per_dof)
        t = lap(f"cycle {cycle}", t)
        say(_cycle_line(result, previous_rep, converged))
        if converged:
            break
    if not converged:
        log.warning("calibrate-tract: not converged after %d fit cycles (tolerance %.4f mag); the final cycle "
                    "starts from the last fit", max_cycles, tolerance)
    n_fit = result.cycle + 1
    final = fit_cycle(db, config, run_id, n_fit, previous=result, final=True, inputs=inputs)
    for band, rep in final.repeatability.items():
        reps[band].append(rep)
    t = lap("final", t)
    say(_cycle_line(final, result.repeatability, False))
    with status("calibrate-tract: writing the products"):
        products = write_products(db, config, run_id, final.cycle, tract)
    lap("products", t)
    wall = time.perf_counter() - t0
    _write_summary(db, run_id, tract, inputs, final, n_fit, converged, products, wall)
    return TractResult(run_id=run_id, tract=tract, n_fit_cycles=n_fit, final_cycle=final.cycle, converged=converged,
                       repeatability=reps, chi2_per_dof=chi2, products=products, wall_time_s=wall, timings=timings)


def _write_summary(db: Database, run_id: int, tract: int | None, inputs: CycleInputs, final: CycleResult,
                   n_fit: int, converged: bool, products, wall: float) -> None:
    bands = inputs.bands
    n_visits = [int((inputs.visit_band == b).sum()) for b in range(len(bands))]
    rep = np.array([final.repeatability[b] * 1000.0 for b in bands], dtype=np.float64)
    frame = pa.table({
        "band": pa.array(bands, pa.string()),
        "repeatability_mmag": pa.array(rep, mask=~np.isfinite(rep)),
        "n_visits": pa.array(n_visits, pa.int32()),
    })
    db.settle()
    db.con.register("tract_summary_frame", frame)
    try:
        db.execute("tract_summary_insert", {
            "run_id": run_id, "tract": tract, "n_fit_cycles": n_fit, "final_cycle": final.cycle,
            "converged": converged, "wall_time_s": wall,
        })
    finally:
        db.con.unregister("tract_summary_frame")


def run_calibrate_tract(db_path: str | Path, tract: int | None = None, max_cycles: int | None = None,
                        tolerance: float | None = None, config_path: str | Path | None = None,
                        plots_dir: str | Path | None = None) -> TractResult:
    """The ``fgcm-db calibrate-tract`` command.

    Parameters
    ----------
    db_path : the database written by ``fgcm-db ingest``.
    tract : the tract of ``[tract.regions.<tract>]``; None = everything ingested is one tract.
    max_cycles : fit cycles at most before the final cycle (None: ``[tract] max_cycles``, 5).
    tolerance : convergence tolerance on the repeatability, mag (None: ``[fit] convergence_tolerance``,
        0.005); it also sets ``[fit] convergence_tolerance`` so that cycle_summary.converged agrees.
    config_path : TOML overrides.
    plots_dir : write the QA plots (PNG) there after the run.
    """
    t0 = time.perf_counter()
    config = load_config(config_path)
    if max_cycles is not None:
        config.tract.max_cycles = max_cycles
    if tolerance is not None:
        config.fit.convergence_tolerance = tolerance
    if config.tract.max_cycles < 1:
        raise FgcmDbError(f"--max-cycles {config.tract.max_cycles}: must be >= 1")
    if not config.fit.convergence_tolerance > 0:
        raise FgcmDbError(f"--tolerance {config.fit.convergence_tolerance}: must be > 0 (mag)")
    _region(config, tract)
    if not Path(db_path).exists():
        raise FgcmDbError(f"no database at {db_path}: run `fgcm-db ingest` first, or name one with --db")
    with Database(db_path) as db:
        for table in ("visits", "observations"):
            if not db.table_exists(table) or db.row_count(table) == 0:
                raise FgcmDbError(f"table {table} of {db_path} is empty: run `fgcm-db ingest` first")
        with db.stage("calibrate-tract", {**config.to_dict(), "tract": tract}) as run_id:
            result = calibrate(db, config, run_id, tract, config.tract.max_cycles, config.fit.convergence_tolerance)
    p = result.products
    state = "converged" if result.converged else "NOT converged"
    say(f"calibrate-tract: {result.n_fit_cycles} fit cycles ({state}) + final cycle {result.final_cycle}; "
        f"{p.n_photo_calib:,} photo_calib rows for {p.n_visits_calibrated}/{p.n_visits} visits, "
        f"{p.n_std_stars:,} standard stars; absolute level: "
        + ", ".join(f"{o.band} {o.source}" + (f" {o.offset_mag * 1000:+.1f} mmag" if o.n_stars else "")
                    for o in p.offsets))
    if plots_dir is not None:
        from ..plots import run_plots

        run_plots(db_path, plots_dir)
    say(f"calibrate-tract: total wall time {time.perf_counter() - t0:.1f} s")
    return result
