"""Writing the simulation's files with the CONTRACT.md column types: per-visit source tables, the
visit summary, the reference catalogue and the truth tables (parquet)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

#: Arrow type of every source-table column we write (CONTRACT.md "Source tables" + optional ones).
SOURCE_SCHEMA = pa.schema([
    ("sourceId", pa.int64()), ("visit", pa.int64()), ("detector", pa.int32()), ("band", pa.string()),
    ("physical_filter", pa.string()), ("coord_ra", pa.float64()), ("coord_dec", pa.float64()),
    ("x", pa.float64()), ("y", pa.float64()),
    ("apFlux_12_0_instFlux", pa.float64()), ("apFlux_12_0_instFluxErr", pa.float64()),
    ("apFlux_12_0_flag", pa.bool_()),
    ("apFlux_17_0_instFlux", pa.float64()), ("apFlux_17_0_instFluxErr", pa.float64()),
    ("apFlux_17_0_flag", pa.bool_()),
    ("localBackground_instFlux", pa.float64()), ("localBackground_flag", pa.bool_()),
    ("extendedness", pa.float64()),
    ("pixelFlags_saturatedCenter", pa.bool_()), ("pixelFlags_interpolatedCenter", pa.bool_()),
    ("pixelFlags_edge", pa.bool_()), ("pixelFlags_cr", pa.bool_()), ("pixelFlags_bad", pa.bool_()),
    ("pixelFlags_interpolated", pa.bool_()),
    ("centroid_flag", pa.bool_()), ("detect_isPrimary", pa.bool_()), ("sky_source", pa.bool_()),
    ("deblend_nChild", pa.int32()), ("parentSourceId", pa.int64()), ("calib_psf_candidate", pa.bool_()),
    ("psfFlux", pa.float64()), ("psfFluxErr", pa.float64()), ("psfFlux_flag", pa.bool_()),
    ("ixx", pa.float64()), ("iyy", pa.float64()), ("ixy", pa.float64()),
])

#: Arrow types of the visit summary (CONTRACT.md "Visit summary").
VISIT_SUMMARY_SCHEMA = pa.schema([
    ("visit", pa.int64()), ("detector", pa.int32()), ("band", pa.string()), ("physical_filter", pa.string()),
    ("expMidptMJD", pa.float64()), ("expTime", pa.float64()), ("zenithDistance", pa.float64()),
    ("boresightRa", pa.float64()), ("boresightDec", pa.float64()), ("boresightRotAngle", pa.float64()),
    ("pressure", pa.float64()), ("psfSigma", pa.float64()), ("skyBg", pa.float64()),
])


def _table(columns: dict, schema: pa.Schema | None = None) -> pa.Table:
    if schema is None:
        return pa.table({k: pa.array(np.asarray(v).tolist() if np.asarray(v).dtype == object else v)
                         for k, v in columns.items()})
    arrays = []
    for field in schema:
        value = columns[field.name]
        if pa.types.is_string(field.type):
            arr = pa.array(np.asarray(value, dtype=object).astype(str).tolist() if len(value) else [], field.type)
        else:
            arr = pa.array(np.asarray(value), field.type)
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=schema)


def write_sources(path: Path, columns: dict) -> int:
    """One visit's source table; returns the number of rows."""
    table = _table(columns, SOURCE_SCHEMA)
    pq.write_table(table, path, compression="zstd")
    return table.num_rows


def write_visit_summary(path: Path, columns: dict) -> None:
    """The visit summary (one row per visit x detector)."""
    pq.write_table(_table(columns, VISIT_SUMMARY_SCHEMA), path, compression="zstd")


def write_table(path: Path, columns: dict) -> None:
    """Any table of numpy columns (truth tables, the reference catalogue)."""
    pq.write_table(_table(columns), path, compression="zstd")


def write_json(path: Path, data: dict) -> None:
    """Metadata as indented JSON."""
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True, default=float) + "\n")
