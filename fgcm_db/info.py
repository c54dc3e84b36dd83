"""``fgcm-db info``: what the database holds (tables, row counts, runs, schema version)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

from . import __version__
from .db import Database, migrations
from .export import CONTRACT_TABLES, existing_tables
from .query import open_reader

#: Runs listed by ``fgcm-db info``.
RECENT_RUNS = 10
#: Longest error message shown for a failed run (characters).
MAX_ERROR_CHARS = 100


def database_summary(db: Database, recent_runs: int = RECENT_RUNS) -> dict[str, Any]:
    """What the database holds, as plain data.

    Returns
    -------
    dict
        ``path``, ``size_bytes``, ``schema_version``, ``schema_known`` (the newest migration this
        fgcm-db has), ``tables`` (name -> rows, every base table), ``missing`` (contract tables absent
        or still empty -> the command that makes them), ``runs`` (the last ``recent_runs``, newest
        first: dicts with run_id, command, status, started, finished, seconds, error) and
        ``metadata`` (key -> JSON text).
    """
    tables = {t: db.row_count(t) for t in existing_tables(db)}
    runs = []
    if "runs" in tables:
        rows = db.execute("runs_recent", {"n": recent_runs}).fetchall()
        keys = ("run_id", "command", "status", "started", "finished", "seconds", "error")
        runs = [dict(zip(keys, r)) for r in rows]
    metadata = {}
    if "metadata" in tables:
        metadata = dict(db.execute("metadata_all").fetchall())
    return {
        "path": str(db.path),
        "size_bytes": db.path.stat().st_size if db.path.exists() else 0,
        "schema_version": db.schema_version(),
        "schema_known": max((v for v, _, _ in migrations()), default=0),
        "tables": tables,
        "missing": {t: cmd for t, cmd in CONTRACT_TABLES.items() if not tables.get(t)},
        "runs": runs,
        "metadata": metadata,
    }


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as the text ``fgcm-db info`` prints."""
    lines = [
        f"database {summary['path']} ({_size(summary['size_bytes'])}), schema version "
        f"{summary['schema_version']} (fgcm-db {__version__} knows {summary['schema_known']})"
    ]
    if summary["schema_version"] < summary["schema_known"]:
        lines.append("  (the next command that writes will apply the newer migrations)")
    tables = summary["tables"]
    width = max((len(t) for t in tables), default=5)
    contract = [t for t in CONTRACT_TABLES if t in tables]
    others = [t for t in tables if t not in CONTRACT_TABLES]
    for title, names in (("contract tables (fgcm-db export writes these)", contract), ("other tables", others)):
        if names:
            lines.append(f"{title}:")
        for table in names:
            n = tables[table]
            lines.append(f"  {table:<{width}}  {n:>12,d} row{'' if n == 1 else 's'}")
    if summary["missing"]:
        by_command: dict[str, list[str]] = {}
        for table, command in summary["missing"].items():
            by_command.setdefault(command, []).append(table)
        lines.append("not created yet:")
        for command, names in by_command.items():
            lines.append(f"  {', '.join(names)}  (fgcm-db {command})")
    if summary["metadata"]:
        lines.append("metadata:")
    for key, value in summary["metadata"].items():
        lines.append(f"  {key} = {value if len(value) <= 80 else value[:79] + '…'}")
    if summary["runs"]:
        lines.append("recent runs:")
        for run in summary["runs"]:
            took = "" if run["seconds"] is None else f"{run['seconds']:.1f} s"
            text = (
                f"  #{run['run_id']:<4d} {run['command']:<18s} {run['status']:<11s} "
                f"{run['started']:%Y-%m-%d %H:%M:%S}  {took:>9s}"
            )
            if run["error"]:
                error = " ".join(str(run["error"]).split())
                text += "  " + (error if len(error) <= MAX_ERROR_CHARS else error[: MAX_ERROR_CHARS - 1] + "…")
            lines.append(text.rstrip())
    else:
        lines.append("no runs recorded yet")
    return "\n".join(lines) + "\n"


def run_info(db_path: str | Path, stream: TextIO | None = None) -> dict[str, Any]:
    """Print what the database at ``db_path`` holds (opened read-only) and return it as data.

    A writer holding the database gives a one-line busy error; other readers do not block it.
    """
    with open_reader(db_path) as db:
        summary = database_summary(db)
    (stream or sys.stdout).write(format_summary(summary))
    return summary
