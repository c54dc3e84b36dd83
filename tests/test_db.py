"""The database layer: migrations, schema versions, transactions, run records, locking."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fgcm_db.db import Database, migrations
from fgcm_db.errors import DatabaseBusyError, FgcmDbError


def test_new_database_applies_every_migration_and_records_it(db_path):
    with Database(db_path) as db:
        applied = db.applied_migrations()
        assert sorted(applied) == [v for v, _, _ in migrations()]
        rows = db.con.execute("SELECT version, name, applied_at, checksum FROM schema_migrations").fetchall()
        assert all(r[2] is not None and len(r[3]) == 64 for r in rows)
    with Database(db_path) as db:  # reopening applies nothing new
        assert db.migrate() == []


def test_database_from_a_newer_fgcm_db_is_refused(db_path):
    with Database(db_path) as db:
        db.con.execute(
            "INSERT INTO schema_migrations VALUES (9999, 'future', now(), 'x')"
        )
    with pytest.raises(FgcmDbError, match="newer fgcm-db"):
        Database(db_path)
    with pytest.raises(FgcmDbError, match="newer fgcm-db"):
        Database(db_path, read_only=True)


def test_failed_stage_rolls_back_its_writes_and_is_recorded_as_failed(db_path):
    with Database(db_path) as db:
        with pytest.raises(RuntimeError):
            with db.stage("test", {"a": 1}):
                db.set_metadata("written_inside", 1)
                raise RuntimeError("boom")
        assert db.get_metadata("written_inside") is None
        status, error = db.con.execute("SELECT status, error FROM runs").fetchone()
        assert status == "failed" and "boom" in error
        with db.stage("test", {}) as run_id:
            db.set_metadata("written_inside", 2)
        assert db.get_metadata("written_inside") == 2
        assert db.con.execute("SELECT status FROM runs WHERE run_id = $r", {"r": run_id}).fetchone()[0] == "ok"


def test_missing_database_read_only_names_the_file(tmp_path):
    with pytest.raises(FgcmDbError, match="no database at"):
        Database(tmp_path / "absent.duckdb", read_only=True)


def test_second_writer_gets_a_one_line_busy_error(db_path):
    Database(db_path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(30)",
         str(db_path)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(DatabaseBusyError, match="in use by another"):
            Database(db_path)
        out = subprocess.run(
            [sys.executable, "-m", "fgcm_db.cli", "--db", str(db_path), "info"],
            capture_output=True, text=True,
        )
        assert out.returncode != 0
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr
        assert "in use by another" in out.stderr
    finally:
        holder.kill()
        holder.wait()
