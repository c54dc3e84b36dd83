"""``fgcm-db ingest``: load source catalogs, the visit summary, the camera and a reference catalog.

Inputs are checked before the database is touched where possible (paths, file formats, column names
and types, the whole visit summary, camera and refcat); then, in one stage transaction: the ingested
visits' old rows are deleted from every per-visit table; sources are loaded (parquet by DuckDB's
reader with column projection, streamed; src FITS read into Arrow and staged as parquet) and checked
row by row in SQL (``sql/ingest_sources.sql``); sourceIds are checked for uniqueness; the selection
(``sql/ingest_source_verdicts.sql``) feeds ``selection_summary`` and ``observations`` (streamed, with
vectorised HEALPix and airmass functions); then ``visit_detectors``, ``visits``, ``detectors``,
``refcat`` and the ``site`` metadata. Any failure rolls everything back (the ``runs`` row records it).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from .camera import load_camera
from .columns import SOURCE_COLUMNS, resolve
from .config import load_config
from .configs.ingest import IngestConfig
from .db import Database
from .errors import FgcmDbError
from .progress import say, status
from .readers import (
    ParquetSource,
    file_format,
    find_source_files,
    inspect_parquet,
    parquet_batch_sql,
    read_refcat,
    read_src_fits_many,
)
from .selection import observation_functions, selection_params
from .sites import get_site
from .visit_summary import read_visit_summary, visit_rows

log = logging.getLogger(__name__)

#: Marker that sql/ingest_sources.sql puts in front of its row-level error messages.
INPUT_ERROR_MARKER = "fgcm-db-input: "
#: src FITS files loaded per INSERT.
FITS_FILES_PER_BATCH = 2000
#: Tables a visit's rows live in, deleted before the visit is written again.
PER_VISIT_TABLES = ("sources", "observations", "visit_detectors", "selection_summary", "visits")


def run_ingest(db_path: str | Path, sources: str, visits: str, camera: str | None = None,
               refcat: str | None = None, config_path: str | None = None, site: str | None = None,
               visit: int | None = None, detector: int | None = None) -> dict:
    """Ingest source catalogs and a visit summary into the database at ``db_path``.

    Parameters
    ----------
    db_path : the DuckDB file (created if absent).
    sources : file, directory or glob of ``sourceTable_visit`` parquet and/or afw ``src`` FITS files.
    visits : the visit summary (parquet or FITS), one row per (visit, detector).
    camera : camera geometry file (YAML or parquet); default: keep the loaded one, or the HSC-like camera.
    refcat : reference catalog parquet (replaces the stored one).
    config_path : TOML config overriding ``[ingest]`` defaults.
    site : observatory preset overriding ``[ingest] site``.
    visit, detector : ids for src FITS files whose names do not carry them.

    Returns
    -------
    dict with the counts written (sources, observations, visits, files).

    Raises
    ------
    FgcmDbError
        Bad input, named by file, column and row; the database is left unchanged.
    """
    config = load_config(config_path)
    cfg = config.ingest
    site_obj = get_site(site or cfg.site)
    ut_boundary = site_obj.ut_boundary_days if cfg.ut_boundary_days is None else cfg.ut_boundary_days

    with status("checking inputs"):
        files = find_source_files(sources)
        formats = {f: file_format(f) for f in files}
        parquet = [inspect_parquet(f) for f in files if formats[f] == "parquet"]
        for p in parquet:
            if cfg.flux_column() not in p.mapping.found:
                raise FgcmDbError(f"{p.path}: no column for the calibration flux [ingest] flux_field = {cfg.flux_field}")
        fits = [f for f in files if formats[f] == "fits"]
        summary = read_visit_summary(visits, cfg.filter_to_band)
        per_visit = visit_rows(summary, site_obj, ut_boundary)
        cam = load_camera(camera) if camera is not None else None
        ref = read_refcat(refcat) if refcat is not None else None

    inputs = {"sources": str(sources), "visits": str(visits), "camera": camera, "refcat": refcat,
              "site": site_obj.name, "visit": visit, "detector": detector}
    with (Database(db_path) as db, observation_functions(db.con, site_obj),
          db.stage("ingest", {**config.to_dict(), "inputs": inputs}) as run_id):
        counts = _load(db, run_id, cfg, site_obj, summary, per_visit, parquet, fits, cam, ref, visit, detector)
    counts["files"] = len(files)
    say(f"ingested {counts['sources']:,d} sources ({counts['files']} files), "
        f"{counts['observations']:,d} selected observations, {counts['visits']} visits")
    return counts


def _input_error(exc: duckdb.Error) -> FgcmDbError:
    """The one-line error for a failed source batch: a row check of ingest_sources.sql, or a file the
    parquet reader could not read."""
    text = str(exc)
    if INPUT_ERROR_MARKER in text:
        return FgcmDbError(text.split(INPUT_ERROR_MARKER, 1)[1].splitlines()[0])
    return FgcmDbError(f"could not read the source files: {' '.join(text.split())}")


def _load(db: Database, run_id: int, cfg: IngestConfig, site, summary, per_visit: pa.Table,
          parquet: list[ParquetSource], fits: list[Path], cam, ref, visit: int | None,
          detector: int | None) -> dict:
    con = db.con
    _run(db, "ingest_memory_limit", {"memory_limit": cfg.memory_limit})
    _run(db, "ingest_progress_bar")
    con.register("vs_rows", summary.rows)
    con.register("visit_rows", per_visit)
    con.register("vs_visits", per_visit.select(["visit", "band", "physical_filter"]))
    con.register("filter_band", pa.table({
        "physical_filter": pa.array(list(cfg.filter_to_band), pa.string()),
        "band": pa.array(list(cfg.filter_to_band.values()), pa.string()),
    }))
    for table in PER_VISIT_TABLES:
        _run(db, f"ingest_delete_{table}")

    if cam is not None or db.execute("ingest_count_detectors").fetchall()[0][0] == 0:
        cam = cam if cam is not None else load_camera(None)
        con.register("camera_rows", cam.to_arrow())
        _run(db, "ingest_delete_detectors")
        _run(db, "ingest_detectors")

    params = {"visits_file": str(summary.path), "allow_nan_coordinates": cfg.allow_nan_coordinates}
    with status(f"loading sources from {len(parquet)} parquet and {len(fits)} FITS files"):
        _run(db, "ingest_insertion_order", {"preserve": False})
        for files, mapping in _parquet_groups(parquet):
            _insert_sources(db, parquet_batch_sql(files, mapping), params)
        if fits:
            _insert_fits(db, fits, cfg, visit, detector, params)
        _run(db, "ingest_insertion_order", {"preserve": True})
        _check_duplicates(db)

    unknown = db.execute("ingest_unknown_detectors").fetchall()
    if unknown:
        log.warning("sources on %d detector(s) absent from the camera (first: detector %d, %d rows)",
                    len(unknown), unknown[0][0], unknown[0][1])

    counts = db.execute("ingest_source_counts").fetchall()
    with_sources = {int(v) for v, _ in counts}
    without = sorted(set(int(v) for v in summary.visits) - with_sources)
    if without:
        log.warning("%d visit(s) of the visit summary %s have no sources (first: %d); they are stored in "
                    "`visits` without observations", len(without), summary.path, without[0])

    with status("selecting sources and computing observations"):
        con.register("selection_params", selection_params(cfg))
        _run(db, "ingest_source_verdicts")
        _run(db, "ingest_selection_summary", {"run_id": run_id})
        _run(db, "ingest_observations")
    n_obs = db.execute("ingest_count_observations").fetchall()[0][0]

    _run(db, "ingest_visit_detectors")
    _run(db, "ingest_visits", {"source_file": str(summary.path), "run_id": run_id})
    if ref is not None:
        con.register("refcat_rows", ref)
        _run(db, "ingest_delete_refcat")
        _run(db, "ingest_refcat")
    db.set_metadata("site", site.as_dict())
    return {"sources": int(sum(n for _, n in counts)), "observations": int(n_obs), "visits": per_visit.num_rows}


def _insert_sources(db: Database, batch_sql: str, params: dict) -> None:
    """Insert one batch (a SELECT in canonical names) through ``sql/ingest_sources.sql``.

    The batch is a view over files (SQL text only): Arrow data registered inside the stage transaction
    would stay in memory until the commit.
    """
    try:
        db.con.sql(batch_sql).create_view("src_batch", replace=True)
        _run(db, "ingest_sources", params)
    except (duckdb.InvalidInputException, duckdb.IOException) as exc:
        raise _input_error(exc) from None


def _insert_fits(db: Database, fits: list[Path], cfg: IngestConfig, visit: int | None, detector: int | None,
                 params: dict) -> None:
    """src FITS catalogs in batches: read in parallel into canonical Arrow, staged as a temporary
    parquet file, inserted like a parquet source table (same SQL, same checks)."""
    with tempfile.TemporaryDirectory(prefix="fgcm-db-ingest-") as tmp:
        for start in range(0, len(fits), FITS_FILES_PER_BATCH):
            batch = read_src_fits_many(fits[start:start + FITS_FILES_PER_BATCH], cfg.fits_name_pattern,
                                       visit, detector, cfg.read_threads)
            staged = Path(tmp) / f"batch_{start}.parquet"
            pq.write_table(batch, staged, compression="none")
            del batch
            mapping = resolve([c.name for c in SOURCE_COLUMNS], SOURCE_COLUMNS)
            _insert_sources(db, parquet_batch_sql([staged], mapping, provenance_in_file=True), params)


def _run(db: Database, name: str, params: dict | None = None) -> None:
    """Run a writing statement of ``sql/`` to completion."""
    db.execute(name, params).fetchall()


def _parquet_groups(parquet: Sequence[ParquetSource]) -> Iterator[tuple[list[Path], object]]:
    """Files sharing one column mapping and Arrow types, loaded by one statement each."""
    groups: dict[tuple, list[ParquetSource]] = {}
    for p in parquet:
        groups.setdefault((p.mapping.signature(), p.arrow_types), []).append(p)
    for members in groups.values():
        yield [m.path for m in members], members[0].mapping


def _check_duplicates(db: Database) -> None:
    rows = db.execute("ingest_duplicate_source").fetchall()
    if rows:
        row = rows[0]
        raise FgcmDbError(f"duplicate sourceId {row[0]}: in {row[1]} and in {row[2]}; sourceId must be unique")

