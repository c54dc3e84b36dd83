"""``fgcm-db export``: contract tables to zstd parquet, with descriptions and units from the catalog."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_query import populate_small_database

from fgcm_db import export
from fgcm_db.cli import main
from fgcm_db.db import Database
from fgcm_db.errors import FgcmDbError
from fgcm_db.export import CONTRACT_TABLES, run_export, split_unit

CORE_MIGRATION = Path(__file__).resolve().parent.parent / "migrations" / "0001_core.sql"


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    return populate_small_database(tmp_path_factory.mktemp("exportdb") / "small.duckdb")


def test_export_writes_every_contract_table_present_with_its_rows(small_db, tmp_path):
    written = run_export(small_db, tmp_path / "out")
    with Database(small_db, read_only=True) as db:
        present = [t for t in CONTRACT_TABLES if db.table_exists(t) and db.row_count(t) > 0]
        assert sorted(written) == sorted(present)
        for table, path in written.items():
            assert path == tmp_path / "out" / f"{table}.parquet"
            assert pq.ParquetFile(path).metadata.num_rows == db.row_count(table)
    assert "photo_calib" in written and "observations" in written
    assert not list((tmp_path / "out").glob(".*"))  # no partial files left


def test_exported_values_round_trip(small_db, tmp_path):
    run_export(small_db, tmp_path, tables=["observations", "photo_calib"])
    obs = pq.read_table(tmp_path / "observations.parquet").sort_by("sourceId")
    with Database(small_db, read_only=True) as db:
        expected = db.con.execute("SELECT sourceId, inst_mag FROM observations ORDER BY sourceId").fetchall()
    assert list(zip(obs.column("sourceId").to_pylist(), obs.column("inst_mag").to_pylist())) == expected
    calib = pq.read_table(tmp_path / "photo_calib.parquet")
    assert calib.column("cheb_coeffs").to_pylist()[0] == [1.0, 0.0]


def test_parquet_carries_descriptions_units_and_a_table_document(small_db, tmp_path):
    run_export(small_db, tmp_path, tables=["observations"])
    path = tmp_path / "observations.parquet"
    schema = pq.read_schema(path)
    inst_mag = schema.field("inst_mag").metadata
    assert inst_mag[b"unit"] == b"mag"
    assert b"per second of exposure" in inst_mag[b"description"]
    assert schema.field("ra").metadata[b"unit"] == b"deg"
    assert b"unit" not in schema.field("visit").metadata
    doc = json.loads(schema.metadata[b"fgcm_db"])
    assert doc["table"] == "observations" and doc["rows"] == 12
    assert doc["description"].startswith("one row per selected source")
    assert {c["name"]: c["unit"] for c in doc["columns"]}["inst_flux"] == "count"
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"


def test_large_tables_stream_in_several_row_groups(small_db, tmp_path, monkeypatch):
    monkeypatch.setattr(export, "BATCH_ROWS", 5)
    run_export(small_db, tmp_path, tables=["observations"])
    meta = pq.ParquetFile(tmp_path / "observations.parquet").metadata
    assert meta.num_rows == 12 and meta.num_row_groups >= 3


def test_missing_contract_tables_are_skipped_and_other_tables_can_be_asked_for(db_path, tmp_path, capsys):
    Database(db_path).close()
    assert run_export(db_path, tmp_path / "default") == {}  # nothing made yet: every table skipped
    assert "skipped photo_calib" in capsys.readouterr().err
    written = run_export(db_path, tmp_path, tables=["visits", "runs", "photo_calib"])
    assert sorted(written) == ["photo_calib", "runs", "visits"]  # named tables are written, even empty
    assert pq.ParquetFile(tmp_path / "visits.parquet").metadata.num_rows == 0


def test_unknown_table_names_are_an_error_naming_them(small_db, tmp_path, capsys):
    with pytest.raises(FgcmDbError, match="no table named nosuch"):
        run_export(small_db, tmp_path, tables=["visits", "nosuch"])
    assert not list(tmp_path.iterdir())
    assert main(["export", "--db", str(small_db), "--out", str(tmp_path), "--tables", "nosuch"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_every_column_of_the_core_tables_has_a_description(db_path):
    core_tables = re.findall(r"^CREATE TABLE (?:IF NOT EXISTS )?(\w+)", CORE_MIGRATION.read_text(), re.MULTILINE)
    with Database(db_path) as db:
        missing = db.con.execute(
            "SELECT table_name || '.' || column_name FROM duckdb_columns() "
            "WHERE schema_name = 'main' AND list_contains($tables, table_name) AND comment IS NULL",
            {"tables": core_tables},
        ).fetchall()
        undocumented_tables = db.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE list_contains($tables, table_name) AND comment IS NULL",
            {"tables": core_tables},
        ).fetchall()
    assert len(core_tables) >= 10
    assert missing == [], f"add COMMENT ON COLUMN to migrations/0002_column_docs.sql for {missing}"
    assert undocumented_tables == []


@pytest.mark.parametrize("comment,expected", [
    ("instrumental magnitude [mag]", ("instrumental magnitude", "mag")),
    ("visit id", ("visit id", "")),
    ("pixel scale [arcsec/pixel]  ", ("pixel scale", "arcsec/pixel")),
    ("names: a [mag], b [1/day]", ("names: a [mag], b [1/day]", "")),
    (None, ("", "")),
])
def test_split_unit_reads_one_trailing_bracketed_unit(comment, expected):
    assert split_unit(comment) == expected
