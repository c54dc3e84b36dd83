"""``fgcm-db info``, and the readers (sql, export, info) next to writers and other readers."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from test_query import populate_small_database

from fgcm_db.cli import main
from fgcm_db.db import Database, migrations
from fgcm_db.info import run_info


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    return populate_small_database(tmp_path_factory.mktemp("infodb") / "small.duckdb")


def test_info_lists_tables_with_row_counts_schema_version_and_runs(small_db):
    out = io.StringIO()
    summary = run_info(small_db, stream=out)
    text = out.getvalue()
    assert summary["schema_version"] == max(v for v, _, _ in migrations())
    assert summary["tables"]["observations"] == 12 and summary["tables"]["photo_calib"] == 6
    assert "observations" in text and "12 rows" in text
    assert f"schema version {summary['schema_version']}" in text
    assert [r["command"] for r in summary["runs"]] == ["ingest"]
    assert summary["runs"][0]["status"] == "ok"
    assert "#1" in text and "ingest" in text and " ok " in text


def test_info_names_missing_contract_tables_and_failed_runs_with_their_error(db_path):
    with Database(db_path) as db:
        with pytest.raises(RuntimeError):
            with db.stage("make-lut", {}):
                raise RuntimeError("throughput file has no wavelength column\nsecond line")
    out = io.StringIO()
    summary = run_info(db_path, stream=out)
    text = out.getvalue()
    assert "photo_calib" in summary["missing"]
    assert "not created yet" in text and "(fgcm-db calibrate-tract)" in text
    failed = [line for line in text.splitlines() if "make-lut" in line and "failed" in line]
    assert len(failed) == 1 and "no wavelength column second line" in failed[0]


def _holder(db_path: Path, read_only: bool) -> subprocess.Popen:
    """A process holding the database open (for writing unless ``read_only``) until killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == '1'); "
         "print('ready', flush=True); time.sleep(60)",
         str(db_path), "1" if read_only else "0"],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_readers_get_a_one_line_busy_error_while_a_writer_holds_the_database(small_db, tmp_path, capsys):
    holder = _holder(small_db, read_only=False)
    try:
        for argv in (["sql", "SELECT count(*) FROM visits"], ["export", "--out", str(tmp_path)], ["info"]):
            assert main(["--db", str(small_db), *argv]) == 4
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1, err
            assert "in use by another" in err
    finally:
        holder.kill()
        holder.wait()
    assert main(["--db", str(small_db), "sql", "SELECT count(*) FROM visits"]) == 0


def test_readers_work_while_another_reader_holds_the_database(small_db, tmp_path, capsys):
    holder = _holder(small_db, read_only=True)
    try:
        assert main(["--db", str(small_db), "sql", "SELECT count(*) AS n FROM visits"]) == 0
        assert capsys.readouterr().out.splitlines()[2].strip() == "3"
        assert main(["--db", str(small_db), "export", "--out", str(tmp_path), "--tables", "visits"]) == 0
        assert (tmp_path / "visits.parquet").is_file()
        assert main(["--db", str(small_db), "info"]) == 0
    finally:
        holder.kill()
        holder.wait()
