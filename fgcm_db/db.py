"""The DuckDB store: open, migrate, run the statements of ``sql/``, transactions and run records.

Every stage talks to the database through :class:`Database`. SQL text lives in ``sql/<name>.sql``
(one statement per file) and is executed with named parameters (``$name``), never by formatting values
into strings.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import hashlib
import json
import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb

from . import __version__
from .errors import DatabaseBusyError, FgcmDbError

log = logging.getLogger(__name__)

DEFAULT_DB_PATH = "fgcm.duckdb"

_PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_MIGRATION_RE = re.compile(r"^(\d{4})_([A-Za-z0-9_]+)\.sql$")


def _resource_dir(name: str) -> Path:
    """Directory of packaged SQL resources: inside the wheel, else the source tree."""
    packaged = Path(__file__).resolve().parent / name
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / name


SQL_DIR = _resource_dir("sql")
MIGRATIONS_DIR = _resource_dir("migrations")


@functools.lru_cache(maxsize=None)
def sql_text(name: str) -> str:
    """Text of ``sql/<name>.sql``.

    Raises
    ------
    FgcmDbError
        If no such statement exists.
    """
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise FgcmDbError(f"internal: no SQL statement named {name!r} in {SQL_DIR}")
    return path.read_text()


def bind_parameters(text: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Keep the parameters the statement names, and fail clearly on missing ones."""
    wanted = set(_PARAM_RE.findall(_strip_sql_comments(text)))
    params = dict(params or {})
    missing = sorted(wanted - params.keys())
    if missing:
        raise FgcmDbError(f"internal: SQL statement needs parameters {', '.join(missing)}")
    return {k: params[k] for k in wanted}


def _strip_sql_comments(text: str) -> str:
    return re.sub(r"--[^\n]*", "", text)


def migrations() -> list[tuple[int, str, str]]:
    """All migration files as (version, name, text), in version order."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        m = _MIGRATION_RE.match(path.name)
        if not m:
            raise FgcmDbError(f"internal: migration file {path.name} is not named NNNN_name.sql")
        found.append((int(m.group(1)), m.group(2), path.read_text()))
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise FgcmDbError("internal: two migration files share a version number")
    return found


def _checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Database:
    """One open DuckDB file.

    Parameters
    ----------
    path : str or Path
        The database file (created when writable and absent).
    read_only : bool
        Open read-only: a second barrier behind ``fgcm-db sql``'s statement check.
    """

    def __init__(self, path: str | Path = DEFAULT_DB_PATH, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise FgcmDbError(
                f"no database at {self.path}: run `fgcm-db ingest` first, or name one with --db"
            )
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" in text.lower():
                raise DatabaseBusyError(
                    f"database {self.path} is in use by another process "
                    f"({'a writer' if read_only else 'a reader or a writer'}); wait for it to finish and try again"
                ) from None
            raise FgcmDbError(f"cannot open database {self.path}: {text.splitlines()[0]}") from None
        except duckdb.Error as exc:
            raise FgcmDbError(
                f"{self.path} is not a DuckDB database fgcm-db can open: {str(exc).splitlines()[0]}"
            ) from None
        self._in_transaction = False
        if read_only:
            self._check_schema_version(allow_older=True)
        else:
            self.migrate()

    # -- life cycle -------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -----------------------------------------------------------------------------
    def applied_migrations(self) -> dict[int, str]:
        """Applied migration versions and their checksums ({} for a new database)."""
        if not self.table_exists("schema_migrations"):
            return {}
        rows = self.execute("db_applied_migrations").fetchall()
        return {int(v): c for v, c in rows}

    def schema_version(self) -> int:
        """Highest applied migration version (0 for an empty database)."""
        return max(self.applied_migrations(), default=0)

    def _check_schema_version(self, allow_older: bool) -> None:
        known = max((v for v, _, _ in migrations()), default=0)
        have = self.schema_version()
        if have > known:
            raise FgcmDbError(
                f"database {self.path} has schema version {have}, made by a newer fgcm-db; this is "
                f"fgcm-db {__version__} (schema {known}): upgrade fgcm-db to use it"
            )
        if have < known and not allow_older:
            raise FgcmDbError(f"database {self.path} needs migration to schema {known}")

    def migrate(self) -> list[int]:
        """Apply pending migrations in order, each in its own transaction; return those applied."""
        self._check_schema_version(allow_older=True)
        applied = self.applied_migrations()
        done = []
        for version, name, text in migrations():
            if version in applied:
                if applied[version] != _checksum(text):
                    log.warning("migration %04d_%s changed since it was applied to %s", version, name, self.path)
                continue
            self.con.execute("BEGIN TRANSACTION")
            try:
                self.con.execute(text)
                self.execute("db_record_migration", {"version": version, "name": name, "checksum": _checksum(text)})
                self.con.execute("COMMIT")
            except Exception:
                self.con.execute("ROLLBACK")
                raise
            done.append(version)
            log.debug("applied migration %04d_%s", version, name)
        return done

    # -- statements -------------------------------------------------------------------------
    def execute(self, name: str, params: Mapping[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
        """Run ``sql/<name>.sql`` with named parameters; returns the cursor for fetching."""
        text = sql_text(name)
        return self.con.execute(text, bind_parameters(text, params))

    def fetch_arrow(self, name: str, params: Mapping[str, Any] | None = None):
        """Run ``sql/<name>.sql`` and return its result as a pyarrow Table (no intermediate copy).

        Goes through a relation (``con.sql``), which hands Arrow the result without the copy a DB-API
        cursor makes. DuckDB >= 2 refuses a relation while an ``execute`` result is half-fetched, so
        any such result is run to its end first.
        """
        self.settle()
        text = sql_text(name)
        return self.con.sql(text, params=bind_parameters(text, params)).to_arrow_table()

    def fetch_polars(self, name: str, params: Mapping[str, Any] | None = None):
        """Run ``sql/<name>.sql`` and return its result as a polars DataFrame (zero-copy from Arrow)."""
        import polars as pl

        return pl.from_arrow(self.fetch_arrow(name, params))

    def settle(self) -> None:
        """Run a half-fetched ``execute`` result to its end (DuckDB >= 2 refuses relations and
        ``register`` while one is pending)."""
        self.con.complete()

    def table_exists(self, table: str) -> bool:
        """True when a table or view named ``table`` exists."""
        return bool(self.execute("db_table_exists", {"table": table}).fetchall()[0][0])

    def row_count(self, table: str) -> int:
        """Rows in ``table`` (the name is checked against the catalog, never formatted blindly)."""
        if not self.table_exists(table):
            raise FgcmDbError(f"no table named {table!r} in {self.path}")
        from sqlglot import exp

        query = exp.select("count(*)").from_(exp.to_identifier(table, quoted=True)).sql("duckdb")
        return int(self.con.execute(query).fetchall()[0][0])

    # -- transactions and runs ---------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        """All-or-nothing: commit on success, roll back on any exception (including Ctrl-C)."""
        if self._in_transaction:
            yield self
            return
        self.con.execute("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield self
        except BaseException:
            self._in_transaction = False
            self.con.execute("ROLLBACK")
            raise
        else:
            self._in_transaction = False
            self.con.execute("COMMIT")

    def begin_run(self, command: str, config: Mapping[str, Any] | None = None) -> int:
        """Record the start of a command in ``runs``; returns its run_id."""
        row = self.execute("runs_begin", {
            "command": command, "config": json.dumps(config or {}, default=str), "version": __version__,
        }).fetchall()[0]
        return int(row[0])

    def end_run(self, run_id: int, status: str, error: str | None = None) -> None:
        """Record how a command ended: status 'ok', 'failed' or 'interrupted'."""
        self.execute("runs_end", {"status": status, "error": error, "run_id": run_id}).fetchall()

    @contextlib.contextmanager
    def stage(self, command: str, config: Mapping[str, Any] | None = None) -> Iterator[int]:
        """A stage's unit of work: a ``runs`` row plus one transaction around everything it writes.

        The ``runs`` row is written outside the transaction so that a failed stage is recorded as
        failed while its own writes are rolled back. Yields the run_id.
        """
        run_id = self.begin_run(command, config)
        try:
            with self.transaction():
                yield run_id
        except KeyboardInterrupt:
            self.end_run(run_id, "interrupted", "interrupted by the user")
            raise
        except BaseException as exc:
            self.end_run(run_id, "failed", f"{type(exc).__name__}: {exc}"[:2000])
            raise
        else:
            self.end_run(run_id, "ok")

    # -- metadata ---------------------------------------------------------------------------
    def set_metadata(self, key: str, value: Any) -> None:
        """Store a JSON value under ``key`` in the ``metadata`` table (replacing it)."""
        self.execute("metadata_delete", {"key": key}).fetchall()
        self.execute("metadata_insert", {"key": key, "value": json.dumps(value, default=str)}).fetchall()

    def get_metadata(self, key: str, default: Any = None) -> Any:
        """The JSON value stored under ``key``, or ``default``."""
        rows = self.execute("metadata_get", {"key": key}).fetchall()
        return default if not rows else json.loads(rows[0][0])


def now_utc() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)
