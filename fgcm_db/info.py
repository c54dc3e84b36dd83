"""``fgcm-db info``: what the database holds (tables, row counts, runs, schema version)."""

from __future__ import annotations

from pathlib import Path

from .db import Database
from .progress import console


def database_summary(db: Database) -> dict:
    """Tables with row counts, schema version and the last runs, as plain data."""
    tables = [
        r[0]
        for r in db.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name"
        ).fetchall()
    ]
    counts = {t: db.row_count(t) for t in tables}
    runs = db.con.execute(
        "SELECT run_id, command, status, started, finished FROM runs ORDER BY run_id DESC LIMIT 10"
    ).fetchall()
    return {"path": str(db.path), "schema_version": db.schema_version(), "tables": counts, "runs": runs}


def run_info(db_path: str | Path) -> dict:
    """Print the summary of the database at ``db_path`` (opened read-only) and return it."""
    with Database(db_path, read_only=True) as db:
        summary = database_summary(db)
    console.print(f"database {summary['path']}  schema version {summary['schema_version']}")
    width = max((len(t) for t in summary["tables"]), default=5)
    for table, n in summary["tables"].items():
        console.print(f"  {table:<{width}}  {n:>12,d} rows")
    if summary["runs"]:
        console.print("recent runs:")
        for run_id, command, status, started, finished in summary["runs"]:
            console.print(f"  #{run_id:<4d} {command:<18s} {status:<11s} {started:%Y-%m-%d %H:%M:%S}")
    return summary
