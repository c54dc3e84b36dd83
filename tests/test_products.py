"""Output products (fgcm_db/products.py) on fit tables filled by hand, per migrations/0006_fit.sql.

The hand-made final cycle has five visits over four detectors that exercise every flag: a clear
photometric visit (one detector recovered from the visit gray), a cloudy non-photometric visit, the
only visit of its night (no atmosphere fit), a visit without stars, and a visit under 2.5 mag of cloud.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fgcm_db import products as P
from fgcm_db.config import load_config
from fgcm_db.db import Database
from fgcm_db.export import run_export

RUN, CYCLE = 1, 3
DETECTORS = (0, 1, 2, 3)
WIDTH, HEIGHT = 2048, 4176
I10_STD = {"g": -2.0, "r": 1.5}
# visit -> band, exp_flag, photometric, exp_gray, airmass
VISITS = {
    101: ("g", 0, True, 0.001, 1.10),
    102: ("g", 2, False, -0.30, 1.20),
    103: ("r", 8, False, 0.002, 1.05),
    104: ("r", 16, False, None, 1.30),
    105: ("r", 2, False, -2.50, 1.60),
}
# (visit, detector) -> zeropoint flag, zp, gray, own good detector gray
ZPS = {
    **{(101, d): (1, 30.0 + 0.01 * d, 0.001, d != 3) for d in DETECTORS},
    **{(102, d): (4, 29.7 + 0.01 * d, -0.30, True) for d in DETECTORS},
    (103, 0): (8, 30.2, 0.002, True), (103, 1): (8, 30.21, 0.003, True),
    (103, 2): (32, None, None, False), (103, 3): (32, None, None, False),
    **{(104, d): (16, None, None, False) for d in DETECTORS},
    (105, 0): (4, 27.6, -2.5, True), (105, 1): (32, None, None, False),
    (105, 2): (32, None, None, False), (105, 3): (32, None, None, False),
}
REF_OFFSET_G = 0.021
N_STARS = 60


def insert(con, table: str, row: dict) -> None:
    """One row by column name (robust to columns added to the schemas later)."""
    names = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    con.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(row.values()))


def fill_tables(db: Database, run_id: int = RUN, cycle: int = CYCLE, seed: int = 5) -> dict:
    """A final cycle written directly into the ingest, LUT, star and fit tables; returns the star truth."""
    rng = np.random.default_rng(seed)
    con = db.con
    if not con.execute("SELECT count(*) FROM detectors").fetchone()[0]:
        for d in DETECTORS:
            con.execute("INSERT INTO detectors VALUES (?, ?, ?, ?, ?, 0.168, 0.0, TRUE, 0.015)",
                        [d, WIDTH, HEIGHT, 40.0 * (d % 2), 70.0 * (d // 2)])
        for v, (band, _, _, _, airmass) in VISITS.items():
            con.execute("INSERT INTO visits (visit, band, physical_filter, mjd, exptime, night, boresight_ra, "
                        "boresight_dec, airmass) VALUES (?, ?, ?, ?, 300, ?, 150, 2.2, ?)",
                        [v, band, f"HSC-{band.upper()}", 60000.1 + v / 1000, 60000 + (v >= 103), airmass])
        con.execute("INSERT INTO lut_meta VALUES (1, 'subaru', 'builtin', 'test', 616, 1.5, 263, 0.03, 1.0, 1.1, "
                    "616, 775, 300, 1100, 0.5, [0, 1], 5, 20)")
        for i, band in enumerate(("g", "r")):
            f = f"HSC-{band.upper()}"
            con.execute("INSERT INTO lut_std VALUES (?, ?, ?, ?, 500, 500, 500, 0.1, 0.1, ?, 1.0, [500.0])",
                        [i, f, band, f, I10_STD[band]])
        ra = 150 + rng.uniform(-0.1, 0.1, N_STARS)
        dec = 2.2 + rng.uniform(-0.1, 0.1, N_STARS)
        for s in range(N_STARS):
            con.execute("INSERT INTO stars VALUES (?, ?, ?, 0, 10, ?, ?, 1)",
                        [s + 1, ra[s], dec[s], s % 10 == 0, 16 if s % 10 == 0 else 0])
    mag_g = rng.uniform(16, 21, N_STARS)
    mag_r = mag_g - 0.5
    con.execute("DELETE FROM star_ref")
    for s in range(N_STARS):
        # star flag: 1 (too few obs) for star 2, reserved for every 10th
        flag = 1 if s == 2 else (16 if s % 10 == 0 else 0)
        insert(con, "star_flags", dict(run_id=run_id, cycle=cycle, star_id=s + 1, flag=flag, reserved=s % 10 == 0))
        insert(con, "star_mags", dict(run_id=run_id, cycle=cycle, star_id=s + 1, band="g", mag_std=mag_g[s],
                                      mag_std_err=0.004, mag_std_raw=mag_g[s], n_good=5, n_total=6, sed_slope=0.001))
        if s < 50:  # r measured for 50 stars only
            insert(con, "star_mags", dict(run_id=run_id, cycle=cycle, star_id=s + 1, band="r", mag_std=mag_r[s],
                                          mag_std_err=0.005, mag_std_raw=mag_r[s], n_good=3, n_total=3,
                                          sed_slope=-0.001))
        con.execute("INSERT INTO star_ref VALUES (?, 'g', ?, 0.005, ?, 0.1, 1)",
                    [s + 1, mag_g[s] + REF_OFFSET_G + rng.normal(0, 0.003), s + 1])
        if s < 5:  # too few for an r reference offset
            con.execute("INSERT INTO star_ref VALUES (?, 'r', ?, 0.005, ?, 0.1, 1)", [s + 1, mag_r[s] + 0.5, s + 1])
    for v, (band, exp_flag, phot, gray, airmass) in VISITS.items():
        insert(con, "exp_gray", dict(
            run_id=run_id, cycle=cycle, visit=v, band=band, physical_filter=f"HSC-{band.upper()}",
            night=60000 + (v >= 103), mjd=60000.1 + v / 1000, exp_flag=exp_flag, photometric=phot, exp_gray=gray,
            exp_gray_err=0.001, exp_gray_rms=0.002, n_good_ccds=4, n_good_stars=100, pmb=616.0, pwv=1.5, o3=263.0,
            tau=0.03, alpha=1.0, secz=airmass, qe_sys=0.0, aper_corr=0.0))
    for (v, d), (flag, zp, gray, good) in ZPS.items():
        band = VISITS[v][0]
        if zp is not None:
            insert(con, "ccd_gray", dict(run_id=run_id, cycle=cycle, visit=v, detector=d, ccd_gray=gray,
                                         ccd_gray_err=0.002, ccd_gray_rms=0.004, n_stars=20 if good else 1,
                                         tilings=3.0, delta_chrom=0.0, good=good))
        insert(con, "zeropoints", dict(
            run_id=run_id, cycle=cycle, visit=v, detector=d, band=band, physical_filter=f"HSC-{band.upper()}",
            flag=flag, photometric=VISITS[v][2], zp=zp, zp_err=None if zp is None else 0.004, i0=0.1,
            i10=I10_STD[band] + 0.3, gray=gray, gray_var=1e-5, tilings=3.0, qe_sys=0.0, filter_offset=0.0,
            superstar=0.0, aper_corr=0.0, delta_chrom=0.0, exptime=300.0, mjd=60000.1 + v / 1000, secz=VISITS[v][4],
            pmb=616.0, pwv=1.5, o3=263.0, tau=0.03, alpha=1.0))
    return {"mag_g": mag_g, "mag_r": mag_r}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    db_path = tmp_path_factory.mktemp("products") / "products.duckdb"
    config = load_config()
    with Database(db_path) as db:
        truth = fill_tables(db)
        summary = P.write_products(db, config, RUN, CYCLE, tract=None)
    return db_path, truth, summary


def _rows(db_path, sql):
    with Database(db_path, read_only=True) as db:
        return db.con.execute(sql).fetchall()


def test_photo_calib_has_a_row_for_every_zeropoint_and_none_for_absent_ones(written):
    db_path, _, summary = written
    rows = _rows(db_path, "SELECT visit, detector FROM photo_calib ORDER BY visit, detector")
    expected = sorted(k for k, (flag, zp, _, _) in ZPS.items() if zp is not None)
    assert rows == expected
    assert summary.n_photo_calib == len(expected)


def test_calib_mean_zp_mag_and_error_follow_the_documented_formulas(written):
    db_path, _, summary = written
    offsets = {o.band: o.offset_mag for o in summary.offsets}
    for visit, det, band, mean, err, zp_mag, zp_err, abs_offset in _rows(
            db_path, "SELECT visit, detector, band, calib_mean, calib_err, zp_mag, zp_err, abs_offset FROM photo_calib"):
        zp = ZPS[(visit, det)][1]
        assert zp_mag == pytest.approx(zp + offsets[band], abs=1e-12)
        assert abs_offset == pytest.approx(offsets[band], abs=1e-15)
        assert mean == pytest.approx(10 ** (-0.4 * (zp_mag - 31.4)), rel=1e-12)
        assert zp_mag == pytest.approx(31.4 - 2.5 * math.log10(mean), abs=1e-12)
        assert err == pytest.approx(0.4 * math.log(10) * mean * zp_err, rel=1e-12)


def test_flags_say_why_a_zero_point_is_degraded(written):
    db_path, _, _ = written
    flags = dict(((v, d), f) for v, d, f in _rows(db_path, "SELECT visit, detector, flag FROM photo_calib"))
    assert flags[(101, 0)] == 0
    assert flags[(101, 3)] == P.FLAG_RECOVERED_GRAY
    assert all(flags[(102, d)] == P.FLAG_NONPHOTOMETRIC for d in DETECTORS)
    assert flags[(103, 0)] == P.FLAG_NO_ATMOSPHERE_FIT
    assert flags[(105, 0)] == P.FLAG_NONPHOTOMETRIC | P.FLAG_THICK_CLOUD
    assert P.flag_names(flags[(105, 0)]) == ["non-photometric", "thick cloud"]


def test_visit_atmosphere_flags_explain_visits_without_calibration(written):
    db_path, _, _ = written
    got = {v: (f, n) for v, f, n in _rows(db_path, "SELECT visit, flag, n_detectors_calibrated FROM visit_atmosphere")}
    assert got[101] == (0, 4)
    assert got[103] == (P.FLAG_NO_ATMOSPHERE_FIT, 2)
    assert got[104] == (P.FLAG_NO_STARS | P.FLAG_NOT_CALIBRATED, 0)
    assert got[105] == (P.FLAG_NONPHOTOMETRIC | P.FLAG_THICK_CLOUD, 1)


def test_reference_offset_is_recorded_and_applied_and_model_is_used_with_too_few_stars(written):
    db_path, truth, _ = written
    rows = {b: r for b, *r in _rows(db_path, "SELECT band, source, offset_mag, offset_err, scatter, n_stars "
                                             "FROM absolute_calibration")}
    source, offset, err, scatter, n = rows["g"]
    assert source == P.REFERENCE_SOURCE
    assert offset == pytest.approx(REF_OFFSET_G, abs=0.0015)
    assert scatter == pytest.approx(0.003, abs=0.0012)
    assert n >= 55 and 0 < err < 0.001
    assert rows["r"] == [P.MODEL_SOURCE, 0.0, None, None, 0]
    star = _rows(db_path, "SELECT mag_g, mag_r FROM std_stars WHERE star_id = 4")[0]
    assert star[0] == pytest.approx(truth["mag_g"][3] + offset, abs=1e-12)
    assert star[1] == pytest.approx(truth["mag_r"][3], abs=1e-12)


def test_std_stars_is_wide_per_band_without_flagged_stars(written):
    db_path, _, _ = written
    with Database(db_path, read_only=True) as db:
        cols = [r[0] for r in db.con.execute("SELECT column_name FROM duckdb_columns() "
                                             "WHERE table_name = 'std_stars' ORDER BY column_index").fetchall()]
        comments = dict(db.con.execute("SELECT column_name, comment FROM duckdb_columns() "
                                       "WHERE table_name = 'std_stars'").fetchall())
    for b in ("g", "r"):
        for p in ("mag", "magerr", "nobs"):
            assert f"{p}_{b}" in cols
            assert comments[f"{p}_{b}"]
    assert comments["mag_g"].endswith("[mag]")
    ids = [r[0] for r in _rows(db_path, "SELECT star_id FROM std_stars ORDER BY star_id")]
    assert 3 not in ids and len(ids) == N_STARS - 1
    row = _rows(db_path, "SELECT reserved, flag, mag_r, nobs_r, magerr_g, nobs_g FROM std_stars WHERE star_id = 51")[0]
    assert row == (True, 16, None, 0, 0.004, 5)


def test_transmission_is_on_a_1nm_grid_and_darker_at_higher_airmass(written):
    db_path, _, summary = written
    rows = _rows(db_path, "SELECT visit, count(*), min(wavelength), max(wavelength), min(transmission), "
                          "max(transmission) FROM transmission GROUP BY visit ORDER BY visit")
    assert [r[0] for r in rows] == sorted(VISITS)
    assert all(r[1:4] == (801, 300.0, 1100.0) for r in rows)
    assert all(0 <= r[4] and r[5] <= 1 for r in rows)
    blue = dict(_rows(db_path, "SELECT visit, transmission FROM transmission WHERE wavelength = 400"))
    assert blue[105] < blue[101] < blue[103]  # airmass 1.6 > 1.1 > 1.05
    assert summary.n_transmission == 5 * 801


def test_rerun_replaces_its_tract_and_keeps_other_tracts(db_path):
    config = load_config()
    with Database(db_path) as db:
        fill_tables(db, run_id=1)
        P.write_products(db, config, 1, CYCLE, tract=None)
        fill_tables(db, run_id=2)
        P.write_products(db, config, 2, CYCLE, tract=None)
        fill_tables(db, run_id=3)
        P.write_products(db, config, 3, CYCLE, tract=7)
    for table in P.PRODUCT_TABLES:
        per_run = dict(_rows(db_path, f"SELECT run_id, count(*) FROM {table} GROUP BY run_id"))
        assert 1 not in per_run and per_run[2] == per_run[3] > 0, table


def test_calibrate_flux_from_exported_parquet_equals_database_and_formula(written, tmp_path):
    db_path, _, _ = written
    run_export(db_path, tmp_path / "out", tables=["photo_calib"])
    parquet = tmp_path / "out" / "photo_calib.parquet"
    meta = pq.read_schema(parquet).field("calib_mean").metadata
    assert meta[b"unit"] == b"nJy/count"
    visit = np.array([101, 101, 102, 105, 104, 999])
    det = np.array([0, 3, 2, 0, 1, 0])
    flux = np.full(6, 1000.0)
    got_pq = P.calibrate_flux(visit, det, 100.0, 200.0, flux, source=parquet)
    got_db = P.calibrate_flux(visit, det, 100.0, 200.0, flux, source=db_path)
    np.testing.assert_array_equal(got_pq, got_db)
    zp = np.array([ZPS[(101, 0)][1], ZPS[(101, 3)][1], ZPS[(102, 2)][1], ZPS[(105, 0)][1]])
    zp = zp + np.array([1, 1, 1, 0]) * _rows(db_path, "SELECT offset_mag FROM absolute_calibration WHERE band='g'")[0][0]
    np.testing.assert_allclose(P.ab_mag(got_pq[:4]), zp - 2.5 * np.log10(1000.0), atol=1e-9)
    assert np.isnan(got_pq[4:]).all()  # no zero-point / unknown visit


def test_chromatic_correction_uses_i10_of_the_visit_and_of_the_standard_passband(written):
    db_path, _, _ = written
    f = 0.004  # SED slope, 1/nm
    flat = P.calibrate_flux([101], [0], 0.0, 0.0, [1.0], source=db_path)
    red = P.calibrate_flux([101], [0], 0.0, 0.0, [1.0], source=db_path, sed_slope=[f])
    i10 = I10_STD["g"] + 0.3
    assert red[0] / flat[0] == pytest.approx((1 + f * I10_STD["g"]) / (1 + f * i10), rel=1e-12)


def test_chebyshev_field_follows_the_documented_layout():
    # order 1: c = [c00, c01 (x), c10 (y), c11]; u = (x + 0.5 - W/2)/(W/2)
    c = np.array([10.0, 1.0, -2.0, 0.5])
    w, h = 100, 50
    x = np.array([49.5, 99.5, -0.5, 49.5])
    y = np.array([24.5, 24.5, 24.5, 49.5])
    u = (x + 0.5 - w / 2) / (w / 2)
    v = (y + 0.5 - h / 2) / (h / 2)
    np.testing.assert_allclose(P.chebyshev_field(c, x, y, w, h), 10 + u - 2 * v + 0.5 * u * v)
    np.testing.assert_allclose(P.chebyshev_field(c, x, y, w, h)[[0, 1, 2]], [10.0, 11.0, 9.0])


def test_calibrate_flux_evaluates_cheb_coeffs_when_present(written):
    db_path, _, _ = written
    table = pa.Table.from_pylist([{
        "tract": None, "visit": 1, "detector": 0, "calib_mean": 5.0, "cheb_coeffs": [5.0, 1.0, 0.0, 0.0],
        "bbox_width": 100, "bbox_height": 100, "i10": 0.0, "i10_std": 0.0, "flag": 0,
    }, {
        "tract": None, "visit": 1, "detector": 1, "calib_mean": 7.0, "cheb_coeffs": None,
        "bbox_width": 100, "bbox_height": 100, "i10": 0.0, "i10_std": 0.0, "flag": 0,
    }])
    got = P.calibrate_flux([1, 1, 1], [0, 0, 1], [49.5, 99.5, 99.5], [49.5, 49.5, 49.5], [2.0, 2.0, 2.0],
                           source=table)
    np.testing.assert_allclose(got, [10.0, 12.0, 14.0])


def test_reference_offset_clips_outliers():
    rng = np.random.default_rng(2)
    d = np.concatenate([rng.normal(0.01, 0.002, 200), [0.5, -0.7, 0.3]])
    offset, err, scatter, n = P.reference_offset(d, 4.0)
    assert offset == pytest.approx(0.01, abs=0.0005)
    assert scatter == pytest.approx(0.002, abs=0.0004)
    assert n <= 200 and err == pytest.approx(1.2533 * scatter / math.sqrt(n))
