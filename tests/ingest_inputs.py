"""Synthetic ingest inputs with known truth: source tables (CONTRACT.md layout), visit summaries,
and helpers to compare database contents before and after a command."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

#: Tables ingest writes (runs excluded: it records failed runs by design).
CONTRACT_TABLES = ("sources", "observations", "visits", "visit_detectors", "detectors", "refcat",
                   "selection_summary", "metadata")

EXPTIME = 30.0
MJD0 = 59000.30


def make_sources(visit: int, n: int, seed: int, first_id: int | None = None, ra0: float = 150.0,
                 dec0: float = 2.0) -> dict[str, np.ndarray]:
    """``n`` clean, selectable point sources of ``visit`` (HSC-R) as a dict of numpy columns."""
    rng = np.random.default_rng(seed)
    first = visit * 100_000 if first_id is None else first_id
    flux12 = rng.uniform(2e3, 5e4, n)
    err12 = flux12 / rng.uniform(20, 500, n)
    return {
        "sourceId": np.arange(first, first + n, dtype=np.int64),
        "visit": np.full(n, visit, dtype=np.int64),
        "detector": rng.integers(0, 104, n).astype(np.int32),
        "band": np.full(n, "r", dtype=object),
        "physical_filter": np.full(n, "HSC-R", dtype=object),
        "coord_ra": ra0 + rng.uniform(-0.5, 0.5, n),
        "coord_dec": dec0 + rng.uniform(-0.5, 0.5, n),
        "x": rng.uniform(0, 2047, n),
        "y": rng.uniform(0, 4175, n),
        "apFlux_12_0_instFlux": flux12,
        "apFlux_12_0_instFluxErr": err12,
        "apFlux_12_0_flag": np.zeros(n, dtype=bool),
        "apFlux_17_0_instFlux": flux12 * rng.uniform(1.01, 1.1, n),
        "apFlux_17_0_instFluxErr": err12 * 1.2,
        "localBackground_instFlux": rng.normal(0.0, 0.5, n),
        "extendedness": np.zeros(n),
        "pixelFlags_saturatedCenter": np.zeros(n, dtype=bool),
        "pixelFlags_interpolatedCenter": np.zeros(n, dtype=bool),
        "pixelFlags_edge": np.zeros(n, dtype=bool),
        "pixelFlags_cr": np.zeros(n, dtype=bool),
        "pixelFlags_bad": np.zeros(n, dtype=bool),
        "sky_source": np.zeros(n, dtype=bool),
        "deblend_nChild": np.zeros(n, dtype=np.int32),
    }


def write_parquet(columns: dict[str, np.ndarray], path: Path) -> Path:
    pq.write_table(pa.table({k: pa.array(v) for k, v in columns.items()}), path)
    return path


def make_summary(visits, detectors=range(104), exptime: float = EXPTIME, band: str = "r",
                 physical_filter: str = "HSC-R", ra: float = 150.0, dec: float = 2.0) -> dict[str, np.ndarray]:
    """A visit summary, one row per (visit, detector)."""
    visits = np.asarray(list(visits), dtype=np.int64)
    dets = np.asarray(list(detectors), dtype=np.int32)
    v = np.repeat(visits, len(dets))
    d = np.tile(dets, len(visits))
    n = len(v)
    return {
        "visit": v, "detector": d,
        "band": np.full(n, band, dtype=object), "physical_filter": np.full(n, physical_filter, dtype=object),
        "expMidptMJD": MJD0 + (v - v.min()) * 0.01, "expTime": np.full(n, exptime),
        "zenithDistance": np.full(n, 30.0), "boresightRa": np.full(n, ra), "boresightDec": np.full(n, dec),
        "boresightRotAngle": np.zeros(n), "pressure": np.full(n, 620.0),
        "psfSigma": 1.5 + 0.01 * d, "skyBg": 100.0 + d,
    }


def snapshot(db_path: Path) -> dict[str, list]:
    """Every row of every ingest table, sorted, for before/after comparisons."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        out = {}
        for t in CONTRACT_TABLES:
            cols = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = $t", {"t": t}).fetchall()]
            rows = con.table(t).fetchall()
            out[t] = (cols, sorted(repr(r) for r in rows))  # repr: NaN compares equal to NaN
        return out
    finally:
        con.close()
