"""``fgcm-db sql``: the read-only check, the locked connection, the output formats, the examples."""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlglot import exp

from fgcm_db import query as query_module
from fgcm_db.cli import main
from fgcm_db.db import Database
from fgcm_db.errors import FgcmDbError
from fgcm_db.query import check_read_only, format_table, open_reader, run_sql

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "queries.sql"

# Later stages' output tables, per CONTRACT.md, created here only when no migration made them yet.
CONTRACT_DDL = {
    "photo_calib": (
        "CREATE TABLE photo_calib (visit BIGINT, detector INTEGER, band VARCHAR, physical_filter VARCHAR, "
        "calib_mean DOUBLE, calib_err DOUBLE, zp_mag DOUBLE, gray_mag DOUBLE, photometric BOOLEAN, "
        "flag INTEGER, cheb_coeffs DOUBLE[])"
    ),
    "std_stars": (
        "CREATE TABLE std_stars (star_id BIGINT, ra DOUBLE, dec DOUBLE, mag_g DOUBLE, magerr_g DOUBLE, "
        "nobs_g INTEGER, mag_r DOUBLE, magerr_r DOUBLE, nobs_r INTEGER, reserved BOOLEAN, flag INTEGER)"
    ),
    "visit_atmosphere": (
        "CREATE TABLE visit_atmosphere (visit BIGINT, band VARCHAR, mjd DOUBLE, airmass DOUBLE, pmb DOUBLE, "
        "pwv DOUBLE, o3 DOUBLE, tau DOUBLE, alpha DOUBLE, gray_mag DOUBLE)"
    ),
    "transmission": "CREATE TABLE transmission (visit BIGINT, wavelength DOUBLE, transmission DOUBLE)",
    "stars": (
        "CREATE TABLE stars (star_id BIGINT, ra DOUBLE, dec DOUBLE, reserved BOOLEAN, nobs_g INTEGER, "
        "nobs_r INTEGER)"
    ),
    "star_obs": "CREATE TABLE star_obs (star_id BIGINT, visit BIGINT, detector INTEGER, sourceId BIGINT)",
    "cycle_summary": (
        "CREATE TABLE cycle_summary (run_id BIGINT, cycle INTEGER, band VARCHAR, n_visits_photometric INTEGER, "
        "n_stars INTEGER, chi2_per_dof DOUBLE, repeatability_mmag DOUBLE, converged BOOLEAN)"
    ),
}

_FILLER = {"VARCHAR": "", "BOOLEAN": False, "TIMESTAMP": "2026-01-01 00:00:00"}


def _add_per_band_columns(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table) -> None:
    """Add the per-band columns (``mag_g``, ``nobs_r``...) that the tract stage adds as it writes bands."""
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = $t", {"t": table}).fetchall()}
    for field in data.schema:
        if field.name not in have and re.fullmatch(r"(mag|magerr|nobs)_[a-z0-9]+", field.name):
            dtype = exp.DataType.build("INTEGER" if field.name.startswith("nobs") else "DOUBLE")
            con.execute(exp.Alter(this=exp.to_table(table), kind="TABLE", actions=[
                exp.ColumnDef(this=exp.to_identifier(field.name, quoted=True), kind=dtype)]).sql("duckdb"))


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    """Insert ``rows`` (dicts) into ``table``; other NOT NULL columns get a neutral value."""
    required = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = $t "
        "AND NOT is_nullable AND column_default IS NULL",
        {"t": table},
    ).fetchall()
    rows = [dict(r) for r in rows]
    for name, dtype in required:
        for row in rows:
            if name not in row:
                row[name] = [] if dtype.endswith("[]") else _FILLER.get(dtype, 0)
    data = pa.Table.from_pylist(rows)
    _add_per_band_columns(con, table, data)
    con.register("rows_in", data)
    columns = [exp.column(c, quoted=True) for c in data.column_names]
    sql = (
        f"INSERT INTO {exp.to_identifier(table, quoted=True).sql('duckdb')} "
        f"({', '.join(c.sql('duckdb') for c in columns)}) "
        + exp.select(*columns).from_("rows_in").sql("duckdb")
    )
    con.execute(sql)
    con.unregister("rows_in")


def populate_small_database(path: Path) -> Path:
    """A database with 3 visits x 2 detectors, 4 stars seen on every visit, and every output table.

    Star ``s`` has standard magnitudes g = 18 + s, r = 17.5 + s; visit 1001 (g) detector 11 is
    flagged; zero-points are 27 + detector / 100.
    """
    visits = [(1001, "g", "HSC-G", 60000.10), (1002, "g", "HSC-G", 60000.20), (1003, "r", "HSC-R", 60001.10)]
    detectors = (10, 11)
    stars = range(1, 5)
    with Database(path) as db:
        con = db.con
        for name, ddl in CONTRACT_DDL.items():
            if not db.table_exists(name):
                con.execute(ddl)
        with db.stage("ingest", {"test": True}) as run_id:
            insert_rows(con, "detectors", [
                dict(detector=d, x_size=2048, y_size=4176, fp_x=d * 10.0, fp_y=0.0, pixel_scale=0.168, rotation=0.0)
                for d in detectors
            ])
            insert_rows(con, "visits", [
                dict(visit=v, band=b, physical_filter=f, mjd=m, exptime=30.0, night=int(m), boresight_ra=150.0,
                     boresight_dec=2.2, airmass=1.1, pressure=615.0)
                for v, b, f, m in visits
            ])
            obs, star_obs, calib = [], [], []
            for v, b, f, _ in visits:
                for d in detectors:
                    zp = 27.0 + d / 100
                    njy_per_count = 10 ** ((31.4 - zp) / 2.5)
                    calib.append(dict(visit=v, detector=d, band=b, physical_filter=f, calib_mean=njy_per_count,
                                      calib_err=0.01 * njy_per_count, zp_mag=zp, gray_mag=-0.01 * d,
                                      photometric=v != 1002, flag=int(v == 1001 and d == 11), cheb_coeffs=[1.0, 0.0]))
                for s in stars:
                    d = detectors[s % 2]
                    source = v * 100 + s
                    mag = (18.0 if b == "g" else 17.5) + s
                    flux = 10 ** ((27.0 + d / 100 - mag) / 2.5)
                    obs.append(dict(sourceId=source, visit=v, detector=d, band=b, physical_filter=f,
                                    ra=150.0 + s * 1e-3, dec=2.2 + s * 1e-3, x=100.0, y=200.0, healpix=s,
                                    inst_flux=flux, inst_flux_err=flux / 100, inst_mag=-2.5 * math.log10(flux / 30),
                                    inst_mag_err=0.0109, delta_mag_bkg=0.0, airmass=1.1))
                    star_obs.append(dict(star_id=s, visit=v, detector=d, sourceId=source, band=b, dist_arcsec=0.1))
            insert_rows(con, "observations", obs)
            insert_rows(con, "selection_summary", [
                dict(visit=v, n_in=10, n_flagged=2, n_extended=1, n_low_sn=2, n_high_sn=0, n_blended=1, n_sky=0,
                     n_bad_coord=0, n_bad_background=0, n_kept=4, run_id=run_id)
                for v, _, _, _ in visits
            ])
            insert_rows(con, "stars", [
                dict(star_id=s, ra=150.0 + s * 1e-3, dec=2.2 + s * 1e-3, healpix=s, n_obs=3, reserved=s == 4, flag=0)
                for s in stars
            ])
            insert_rows(con, "star_obs", star_obs)
            insert_rows(con, "photo_calib", calib)
            insert_rows(con, "std_stars", [
                dict(star_id=s, ra=150.0 + s * 1e-3, dec=2.2 + s * 1e-3, mag_g=18.0 + s, magerr_g=0.01, nobs_g=2,
                     mag_r=17.5 + s, magerr_r=0.01, nobs_r=1, reserved=s == 4, flag=0)
                for s in stars
            ])
            insert_rows(con, "visit_atmosphere", [
                dict(visit=v, band=b, mjd=m, airmass=1.1, pmb=615.0, pwv=2.0, o3=270.0, tau=0.05, alpha=1.0,
                     gray_mag=0.0)
                for v, b, _, m in visits
            ])
            insert_rows(con, "transmission", [dict(visit=1001, wavelength=w, transmission=0.9) for w in (400.0, 500.0)])
            insert_rows(con, "cycle_summary", [
                dict(run_id=run_id, cycle=c, band=b, n_visits_photometric=2, n_stars=4, chi2_per_dof=1.2,
                     repeatability_mmag=8.0 - c, converged=c == 1)
                for c in (0, 1) for b in ("g", "r")
            ])
    return path


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    return populate_small_database(tmp_path_factory.mktemp("sqldb") / "small.duckdb")


def example_queries() -> list[tuple[str, str]]:
    """(title, statement) of every query in examples/queries.sql (a statement ends with ';')."""
    text = EXAMPLES.read_text()
    found, current = [], []
    for line in text.splitlines():
        current.append(line)
        if line.rstrip().endswith(";") and not line.lstrip().startswith("--"):
            statement = "\n".join(current)
            title = re.search(r"^--\s*(\d+\..*)$", statement, re.MULTILINE)
            found.append((title.group(1) if title else statement[:40], statement))
            current = []
    leftover = [line for line in current if line.strip() and not line.lstrip().startswith("--")]
    assert not leftover, f"examples/queries.sql ends with an unterminated statement: {leftover}"
    return found


# --------------------------------------------------------------------------------------------
# Examples
# --------------------------------------------------------------------------------------------
def test_examples_file_has_a_commented_query_for_each_user_question():
    titles = " ".join(t.lower() for t, _ in example_queries())
    for topic in ("per star", "per visit", "light curve", "rejected", "zero-points of one visit", "worst-calibrated"):
        assert topic in titles, topic
    assert len(example_queries()) >= 10


@pytest.mark.parametrize("title,statement", example_queries(), ids=[t[:40] for t, _ in example_queries()])
def test_every_example_query_passes_the_check_and_returns_rows(small_db, title, statement):
    out = io.StringIO()
    rows = run_sql(small_db, statement, fmt="table", stream=out, max_rows=0)
    assert rows > 0, f"{title} returned no rows:\n{out.getvalue()}"


def test_light_curve_example_recovers_the_star_magnitudes(small_db):
    statement = dict(example_queries())[next(t for t, _ in example_queries() if "light curve" in t)]
    out = io.StringIO()
    run_sql(small_db, statement, fmt="json", stream=out)
    records = json.loads(out.getvalue())
    assert [r["visit"] for r in records] == [1001, 1002, 1003]
    for r in records:
        assert r["mag"] == pytest.approx(19.0 if r["band"] == "g" else 18.5, abs=1e-9)
        assert r["mag_minus_std"] == pytest.approx(0.0, abs=1e-9)


# --------------------------------------------------------------------------------------------
# The read-only check
# --------------------------------------------------------------------------------------------
REFUSED = [
    "DELETE FROM visits", "DROP TABLE visits", "INSERT INTO visits SELECT * FROM visits",
    "UPDATE visits SET band = 'x'", "CREATE TABLE x AS SELECT 1", "CREATE TEMP TABLE x AS SELECT 1",
    "CREATE MACRO m(a) AS a", "ALTER TABLE visits ADD COLUMN z INT", "TRUNCATE visits",
    "COPY visits TO '/tmp/x.csv'", "COPY (SELECT 1) TO '/tmp/x.csv'", "COPY visits FROM '/tmp/x.csv'",
    "EXPORT DATABASE '/tmp/x'", "ATTACH '/tmp/x.duckdb' AS x", "DETACH x", "INSTALL httpfs", "LOAD httpfs",
    "PRAGMA enable_profiling", "SET enable_external_access = true", "RESET threads", "SET VARIABLE x = 1",
    "CALL pragma_version()", "CHECKPOINT", "VACUUM", "USE x", "BEGIN TRANSACTION", "CREATE SECRET s (TYPE s3)",
    "SELECT 1; DELETE FROM visits", "SELECT 1; SELECT 2", "SELECT 1 /* ; */; DROP TABLE visits",
    "SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM READ_CSV_AUTO('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'", 'SELECT * FROM "x.csv"', "FROM 'https://example.com/x.parquet'",
    "SELECT * FROM read_parquet('x.parquet')", "SELECT * FROM parquet_scan('x')", "SELECT * FROM read_json('x')",
    "SELECT * FROM read_text('/etc/passwd')", "SELECT * FROM read_blob('/etc/passwd')", "SELECT * FROM glob('/*')",
    "SELECT * FROM sniff_csv('/etc/passwd')", "SELECT * FROM parquet_metadata('x')",
    "SELECT * FROM query('SELECT 1')", "SELECT * FROM query_table('visits')", "SELECT * FROM sqlite_scan('x', 't')",
    "SELECT * FROM duckdb_secrets()", "SELECT * FROM checkpoint()", "SELECT getenv('HOME')",
    "SELECT nextval('runs_seq')", "SELECT '/etc/passwd'.read_text()", 'SELECT * FROM "read_csv"(\'/etc/passwd\')',
    "SELECT * FROM main.read_csv('/etc/passwd')", "SELECT * FROM (FROM read_csv('/etc/passwd'))",
    "WITH a AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM a",
    "SELECT (SELECT count(*) FROM read_csv('/etc/passwd'))", "SELECT 1 WHERE EXISTS (FROM glob('*'))",
    "SELECT * FROM visits, LATERAL read_csv(source_file)",
    "SELECT list_transform([1], x -> (SELECT count(*) FROM glob('*')))",
    "SELECT * FROM visits UNION ALL SELECT * FROM read_csv('/etc/passwd')",
    "DESCRIBE read_csv('/etc/passwd')", "SUMMARIZE read_csv('/etc/passwd')", "DESCRIBE '/etc/passwd'",
    "SUMMARIZE SELECT * FROM read_csv('/etc/passwd')", "SHOW SELECT * FROM read_csv('/etc/passwd')",
    "EXPLAIN ANALYZE DELETE FROM visits", "EXPLAIN /* x */ ANALYZE COPY visits TO '/tmp/x'",
    "EXPLAIN ANALYZE SELECT * FROM read_csv('/etc/passwd')", "SELECT 1 INTO x",
    "WITH d AS (DELETE FROM visits RETURNING *) SELECT * FROM d", "PIVOT visits ON band USING count(*)",
    "", "-- only a comment", "EXPLAIN",
]

ACCEPTED = [
    "SELECT 1", "FROM visits LIMIT 3", "WITH a AS (SELECT visit FROM visits) SELECT * FROM a", "DESCRIBE visits",
    "DESCRIBE SELECT * FROM visits", "SHOW TABLES", "SHOW visits", "SUMMARIZE visits", "EXPLAIN SELECT * FROM visits",
    "EXPLAIN ANALYZE SELECT count(*) FROM visits", "SELECT * FROM range(3)", "SELECT * FROM duckdb_tables()",
    "SELECT * FROM information_schema.tables", "VALUES (1), (2)", "SELECT 1 UNION ALL SELECT 2",
    "PIVOT visits ON band IN ('g', 'r') USING count(*)", "SELECT band, count(*) FROM visits GROUP BY ALL",
    "SELECT 'read_csv(''/etc/passwd'')' AS harmless_text", "-- a comment\nSELECT visit FROM visits;",
]


@pytest.mark.parametrize("query", REFUSED)
def test_statement_check_refuses_writes_settings_files_and_outside_access(query):
    with pytest.raises(FgcmDbError):
        check_read_only(query)


@pytest.mark.parametrize("query", REFUSED + [
    "WITH d AS (INSERT INTO visits (visit) VALUES (1) RETURNING *) SELECT * FROM d",
    "WITH d AS (UPDATE visits SET band = 'x' RETURNING *) SELECT * FROM d",
    "WITH d AS (COPY visits TO 'x.csv') SELECT 1",
])
def test_duckdb_parser_layer_alone_refuses_them_too(query):
    """DuckDB's parser is the one that runs the statement: its check must not depend on sqlglot's."""
    with pytest.raises(FgcmDbError):
        query_module._check_with_duckdb(query) if query.strip() else check_read_only(query)


@pytest.mark.parametrize("query", ACCEPTED)
def test_statement_check_accepts_reading_statements(small_db, query):
    check_read_only(query)
    run_sql(small_db, query, stream=io.StringIO())


@pytest.mark.parametrize("statement", [
    "SELECT * FROM read_csv('{path}')",
    "COPY visits TO '{path}.out.csv'",
    "SET enable_external_access = true",
    "CREATE TABLE t AS SELECT 1",
    "INSERT INTO runs (run_id, command, version, started, status) VALUES (99, 'x', 'x', now(), 'ok')",
    "ATTACH '{path}.other.duckdb' AS other",
    "INSTALL httpfs",
])
def test_locked_reader_connection_refuses_what_the_check_would_have_caught(small_db, tmp_path, statement):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with open_reader(small_db) as db:
        with pytest.raises(duckdb.Error):
            db.con.execute(statement.format(path=secret)).fetchall()
    assert not list(tmp_path.glob("secret.csv.*"))
    with Database(small_db, read_only=True) as db:
        assert db.row_count("runs") == 1


# --------------------------------------------------------------------------------------------
# Formats and errors
# --------------------------------------------------------------------------------------------
def test_table_format_shows_max_rows_and_counts_all_of_them(small_db):
    out = io.StringIO()
    rows = run_sql(small_db, "SELECT sourceId, inst_mag FROM observations ORDER BY sourceId", max_rows=5, stream=out)
    lines = out.getvalue().splitlines()
    assert rows == 12
    assert lines[0].split() == ["sourceId", "inst_mag"]
    assert len(lines) == 2 + 5 + 1
    assert lines[-1].startswith("(12 rows, first 5 shown")
    assert lines[2].split()[0] == "100101"


def test_table_format_fits_the_width_cutting_text_not_numbers():
    names = ["visit", "source_file", "mjd"] + [f"column_{i}" for i in range(20)]
    rows = [(1001, "/a/very/long/path/" * 5, 60000.123456789) + tuple(range(20))]
    text = format_table(names, [True, False, True] + [True] * 20, rows, total=1, width=80)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines[:-1])  # the footer may wrap
    assert "60000.12346" in lines[2]  # 10 significant digits, never cut
    assert "\u2026" in lines[2]  # the long path is cut
    assert "more columns not shown" in lines[-1] and "column_19" in lines[-1]


def test_csv_json_and_parquet_outputs_hold_the_same_values(small_db, tmp_path):
    query = "SELECT visit, band, mjd, pressure FROM visits ORDER BY visit"
    csv_out = io.StringIO()
    assert run_sql(small_db, query, fmt="csv", stream=csv_out) == 3
    assert csv_out.getvalue().splitlines()[0] == '"visit","band","mjd","pressure"'
    assert csv_out.getvalue().splitlines()[1] == '1001,"g",60000.1,615'
    json_out = io.StringIO()
    run_sql(small_db, query, fmt="json", stream=json_out)
    assert json.loads(json_out.getvalue())[2] == {"visit": 1003, "band": "r", "mjd": 60001.1, "pressure": 615.0}
    target = tmp_path / "visits.parquet"
    run_sql(small_db, query, fmt="parquet", out=target)
    table = pq.read_table(target)
    assert table.column("visit").to_pylist() == [1001, 1002, 1003]
    assert pq.ParquetFile(target).metadata.row_group(0).column(0).compression == "ZSTD"
    assert not list(tmp_path.glob(".*partial"))


def test_empty_result_in_every_format(small_db, tmp_path):
    query = "SELECT visit FROM visits WHERE visit < 0"
    out = io.StringIO()
    assert run_sql(small_db, query, stream=out) == 0
    assert out.getvalue().splitlines()[-1] == "(0 rows)"
    out = io.StringIO()
    run_sql(small_db, query, fmt="json", stream=out)
    assert json.loads(out.getvalue()) == []


def test_json_turns_non_finite_floats_into_null_and_odd_types_into_text(small_db):
    out = io.StringIO()
    run_sql(small_db, "SELECT 'nan'::DOUBLE AS n, [1.5, 'inf'::DOUBLE] AS l, 'ab'::BLOB AS b, "
            "12345678901234567890::HUGEINT AS h, DATE '2024-01-02' AS d", fmt="json", stream=out)
    assert json.loads(out.getvalue()) == [
        {"n": None, "l": [1.5, None], "b": "6162", "h": 12345678901234567890, "d": "2024-01-02"}
    ]
    out = io.StringIO()  # numbers and text only: the polars path
    run_sql(small_db, "SELECT 'nan'::DOUBLE AS n, [1.5, 'inf'::DOUBLE] AS l, 'x' AS t", fmt="json", stream=out)
    assert json.loads(out.getvalue()) == [{"n": None, "l": [1.5, None], "t": "x"}]


def test_types_a_format_cannot_hold_give_a_one_line_error(small_db, tmp_path):
    with pytest.raises(FgcmDbError, match="cannot write this result as csv"):
        run_sql(small_db, "SELECT INTERVAL 1 DAY AS i", fmt="csv", stream=io.StringIO())
    with pytest.raises(FgcmDbError, match="cannot write this result as parquet"):
        run_sql(small_db, "SELECT INTERVAL 1 DAY AS i", fmt="parquet", out=tmp_path / "i.parquet")
    assert not list(tmp_path.iterdir())


def test_parquet_needs_out_and_csv_refuses_list_columns(small_db):
    with pytest.raises(FgcmDbError, match="--out"):
        run_sql(small_db, "SELECT 1", fmt="parquet")
    with pytest.raises(FgcmDbError, match="cheb_coeffs"):
        run_sql(small_db, "SELECT cheb_coeffs FROM photo_calib", fmt="csv", stream=io.StringIO())


@pytest.mark.parametrize("query,expected", [
    ("SELECT * FROM visitz", "visitz"),
    ("SELECT visit FROM visits WHERE", "syntax error"),
    ("SELECT nosuchcolumn FROM visits", "nosuchcolumn"),
    ("DELETE FROM visits", "DELETE"),
])
def test_cli_errors_are_one_line_naming_the_problem(small_db, capsys, query, expected):
    assert main(["--db", str(small_db), "sql", query]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert expected in err


def test_cli_sql_prints_a_table_on_stdout(small_db, capsys):
    assert main(["sql", "--db", str(small_db), "SELECT count(*) AS n FROM star_obs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].strip() == "n" and out[2].strip() == "12" and out[3] == "(1 row)"
