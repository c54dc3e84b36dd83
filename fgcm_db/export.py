"""``fgcm-db export``: the contract tables as zstd parquet files with their documentation inside.

Each table goes to ``DIR/<table>.parquet``, streamed in Arrow record batches (memory stays bounded
for tables of 10^7 rows). Column descriptions and units come from the database catalog, where the
migrations put them with ``COMMENT ON COLUMN table.column IS 'meaning [unit]'``; they are written as
per-field parquet metadata (``description``, ``unit``) and, for the whole table, as a JSON document
under the file-level key ``fgcm_db``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from . import __version__
from .db import Database
from .errors import FgcmDbError
from .progress import say
from .query import one_line, open_reader

#: The tables users get from ``fgcm-db export`` (CONTRACT.md), in pipeline order, each with the
#: command that creates it. This is the one list of contract tables.
CONTRACT_TABLES: dict[str, str] = {
    "sources": "ingest",
    "observations": "ingest",
    "visits": "ingest",
    "detectors": "ingest",
    "refcat": "ingest",
    "selection_summary": "ingest",
    "lut_std": "make-lut",
    "std_passband": "make-lut",
    "std_atmosphere": "make-lut",
    "stars": "build-stars",
    "star_obs": "build-stars",
    "photo_calib": "calibrate-tract",
    "std_stars": "calibrate-tract",
    "visit_atmosphere": "calibrate-tract",
    "transmission": "calibrate-tract",
    "cycle_summary": "calibrate-tract",
    "absolute_calibration": "calibrate-tract",
    "tract_summary": "calibrate-tract",
    "exposure_calibration": "calibrate-exposure",
}

#: Rows per record batch (and so per parquet row group).
BATCH_ROWS = 262_144

#: DuckDB buffer-cache cap while exporting (the cache otherwise grows with the table scanned).
EXPORT_MEMORY_LIMIT = "1GB"

#: Key of the table-level JSON document in the parquet file metadata.
METADATA_KEY = b"fgcm_db"

_UNIT_RE = re.compile(r"^(?P<text>.*?)\s*\[(?P<unit>[^\[\]]*)\]\s*$", re.DOTALL)


def split_unit(comment: str | None) -> tuple[str, str]:
    """Split a catalog comment ``'meaning [unit]'`` into (meaning, unit).

    The unit is the one bracketed group ending the comment; it is '' when there is none, or when the
    comment holds several bracketed groups (then the whole comment is the description).
    """
    if not comment:
        return "", ""
    match = _UNIT_RE.match(comment)
    if not match or comment.count("[") != 1:
        return comment.strip(), ""
    return match.group("text").strip(), match.group("unit").strip()


@dataclass(frozen=True)
class ColumnDoc:
    """One column's documentation from the catalog."""

    name: str
    type: str
    description: str
    unit: str


def table_docs(db: Database, table: str) -> tuple[str, list[ColumnDoc]]:
    """The table's comment and its columns' (name, type, description, unit), in column order."""
    row = db.con.execute(
        "SELECT comment FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = $t", {"t": table}
    ).fetchone()
    columns = db.con.execute(
        "SELECT column_name, data_type, comment FROM duckdb_columns() "
        "WHERE schema_name = 'main' AND table_name = $t ORDER BY column_index",
        {"t": table},
    ).fetchall()
    docs = [ColumnDoc(name, dtype, *split_unit(comment)) for name, dtype, comment in columns]
    return (row[0] or "") if row else "", docs


def existing_tables(db: Database) -> list[str]:
    """Base tables of the database's main schema, sorted."""
    return [
        r[0]
        for r in db.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY table_name"
        ).fetchall()
    ]


def _documented_schema(schema: pa.Schema, docs: list[ColumnDoc], table_meta: dict) -> pa.Schema:
    by_name = {d.name: d for d in docs}
    fields = []
    for field in schema:
        doc = by_name.get(field.name)
        meta = {}
        if doc and doc.description:
            meta[b"description"] = doc.description.encode()
        if doc and doc.unit:
            meta[b"unit"] = doc.unit.encode()
        fields.append(field.with_metadata(meta or None))
    return pa.schema(fields, metadata={METADATA_KEY: json.dumps(table_meta).encode()})


def export_table(db: Database, table: str, path: Path) -> int:
    """Stream ``table`` into the parquet file ``path`` (zstd); return the number of rows written.

    The file is written under a temporary name beside ``path`` and renamed when complete.
    """
    description, docs = table_docs(db, table)
    rows_expected = db.row_count(table)
    table_meta = {
        "table": table,
        "description": description,
        "rows": rows_expected,
        "columns": [
            {"name": d.name, "type": d.type, "description": d.description, "unit": d.unit} for d in docs
        ],
        "schema_version": db.schema_version(),
        "fgcm_db_version": __version__,
        "exported_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "database": str(db.path),
    }
    query = (
        exp.select(*[exp.column(d.name, quoted=True) for d in docs])
        .from_(exp.to_identifier(table, quoted=True))
        .sql("duckdb")
    )
    partial = path.with_name(f".{path.name}.partial")
    rows = 0
    try:
        reader = db.con.sql(query).to_arrow_reader(BATCH_ROWS)
        schema = _documented_schema(reader.schema, docs, table_meta)
        with pq.ParquetWriter(partial, schema, compression="zstd") as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
        os.replace(partial, path)
    except (duckdb.Error, pa.ArrowException) as exc:
        raise FgcmDbError(f"export of table {table} failed: {one_line(exc)}") from None
    finally:
        partial.unlink(missing_ok=True)
    return rows


def _tables_to_export(db: Database, tables: list[str] | None) -> tuple[list[str], list[str]]:
    """(tables to write, contract tables skipped); unknown names are an error.

    By default the contract tables that exist and hold rows are written (product tables exist, empty,
    from their migration on); tables named explicitly are written whenever they exist.
    """
    present = set(existing_tables(db))
    if tables is None:
        wanted = list(CONTRACT_TABLES)
    else:
        wanted = list(dict.fromkeys(t.strip() for t in tables if t.strip()))
        if not wanted:
            raise FgcmDbError("--tables is empty; give comma-separated table names, e.g. photo_calib,std_stars")
        unknown = [t for t in wanted if t not in present and t not in CONTRACT_TABLES]
        if unknown:
            raise FgcmDbError(
                f"--tables: no table named {', '.join(unknown)} in {db.path}; "
                f"tables there: {', '.join(sorted(present))}"
            )
    if tables is None:  # by default, only the contract tables that hold something
        made = [t for t in wanted if t in present and not _is_empty(db, t)]
    else:
        made = [t for t in wanted if t in present]
    return made, [t for t in wanted if t not in made]


def _is_empty(db: Database, table: str) -> bool:
    """True when ``table`` has no rows (product tables exist, empty, from their migration on)."""
    return db.row_count(table) == 0


def run_export(db_path: str | Path, out_dir: str | Path, tables: list[str] | None = None) -> dict[str, Path]:
    """Write the contract tables (or ``tables``) of the database to ``out_dir/<table>.parquet``.

    Parameters
    ----------
    db_path : str or Path
        The database (opened read-only; a writer holding it gives a one-line busy error).
    out_dir : str or Path
        Output directory, created when absent. Existing files of the same names are replaced.
    tables : list of str, optional
        Table names (contract tables or any other table of the database, e.g. ``runs``). Default:
        every contract table present. Contract tables not created yet are skipped with a note.

    Returns
    -------
    dict
        Table name -> parquet path written.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FgcmDbError(f"--out {out} exists and is not a directory")
    written: dict[str, Path] = {}
    with open_reader(db_path, memory_limit=EXPORT_MEMORY_LIMIT) as db:
        to_write, missing = _tables_to_export(db, tables)
        out.mkdir(parents=True, exist_ok=True)
        for table in to_write:
            path = out / f"{table}.parquet"
            rows = export_table(db, table, path)
            written[table] = path
            say(f"exported {table}: {rows:,d} rows -> {path}")
        for table in missing:
            say(f"skipped {table}: nothing in the database yet (made by `fgcm-db {CONTRACT_TABLES[table]}`)")
    return written
