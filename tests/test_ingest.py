"""`fgcm-db ingest` on parquet inputs: what it writes, the selection, idempotency, atomicity, bad input."""

from __future__ import annotations

import logging

import astropy.units as u
import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from astropy.time import Time
from astropy.utils import iers
from ingest_inputs import EXPTIME, make_sources, make_summary, snapshot, write_parquet

from fgcm_db import ingest as ingest_module
from fgcm_db.cli import main
from fgcm_db.errors import FgcmDbError
from fgcm_db.ingest import run_ingest
from fgcm_db.sites import get_site


@pytest.fixture()
def two_visits(tmp_path):
    """Two visits of 400 clean sources each, one parquet file per visit, and their summary."""
    src = tmp_path / "src"
    src.mkdir()
    for visit, seed in ((1001, 1), (1002, 2)):
        write_parquet(make_sources(visit, 400, seed), src / f"sourceTable_{visit}.parquet")
    summary = write_parquet(make_summary([1001, 1002]), tmp_path / "visit_summary.parquet")
    return src, summary


def _query(db_path, sql, params=None):
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


# ------------------------------------------------------------------------------------------------
# what ingest writes
# ------------------------------------------------------------------------------------------------
def test_clean_sources_all_become_observations_with_exact_magnitudes(db_path, two_visits):
    src, summary = two_visits
    counts = run_ingest(db_path, str(src), str(summary))
    assert counts == {"sources": 800, "observations": 800, "visits": 2, "files": 2}
    rows = _query(db_path, """
        SELECT o.inst_mag, s.apFlux_12_0_instFlux, o.inst_mag_err, s.apFlux_12_0_instFluxErr,
               o.delta_mag_aper, s.apFlux_17_0_instFlux, o.delta_mag_bkg
        FROM observations o JOIN sources s USING (sourceId)""")
    mag, f12, err, e12, dap, f17, dbkg = map(np.array, zip(*rows))
    np.testing.assert_allclose(mag, -2.5 * np.log10(f12 / EXPTIME), rtol=0, atol=1e-12)
    np.testing.assert_allclose(err, 1.0857362047581294 * e12 / f12, rtol=1e-12)
    np.testing.assert_allclose(dap, -2.5 * np.log10(f12 / f17), atol=1e-12)
    assert np.all(dbkg == 0.0)


def test_healpix_ids_agree_with_an_independent_library(db_path, two_visits):
    healpix = pytest.importorskip("astropy_healpix", reason="astropy-healpix gives the independent check")
    src, summary = two_visits
    run_ingest(db_path, str(src), str(summary))
    ra, dec, hp = map(np.array, zip(*_query(db_path, "SELECT ra, dec, healpix FROM observations")))
    expect = healpix.HEALPix(nside=16384, order="nested").lonlat_to_healpix(ra * u.deg, dec * u.deg)
    assert np.array_equal(hp, expect)


def test_visit_rows_carry_night_hour_angle_medians_and_delta_aper(db_path, two_visits):
    src, summary = two_visits
    run_ingest(db_path, str(src), str(summary))
    (visit, mjd, night, ha, psf, sky, dap, ndet, airmass, site_json) = _query(db_path, """
        SELECT v.visit, v.mjd, v.night, v.hour_angle, v.psf_sigma, v.sky_bg, v.delta_aper, v.n_detectors,
               v.airmass, m.value
        FROM visits v, metadata m WHERE m.key = 'site' ORDER BY visit LIMIT 1""")[0]
    site = get_site("subaru")
    assert night == int(np.floor(mjd + site.ut_boundary_days))
    iers.conf.auto_download = False
    lst = Time(mjd, format="mjd", scale="tai").sidereal_time("mean", longitude=site.longitude_deg * u.deg).deg
    assert abs(((lst - 150.0 + 180) % 360 - 180) - ha) < 0.01  # independent LST (astropy), deg
    assert psf == pytest.approx(np.median(1.5 + 0.01 * np.arange(104)))
    assert sky == pytest.approx(np.median(100.0 + np.arange(104)))
    assert ndet == 104
    med = _query(db_path, "SELECT median(delta_mag_aper) FROM observations WHERE visit = $v", {"v": visit})[0][0]
    assert dap == pytest.approx(med)
    assert '"subaru"' in site_json
    lat = np.radians(site.latitude_deg)
    dec = np.radians(2.0)
    assert airmass == pytest.approx(1 / (np.sin(dec) * np.sin(lat) + np.cos(dec) * np.cos(lat) * np.cos(np.radians(ha))))
    assert _query(db_path, "SELECT count(*) FROM visit_detectors")[0][0] == 208
    assert _query(db_path, "SELECT count(*) FROM detectors")[0][0] == 104


def test_per_source_airmass_uses_each_sources_own_hour_angle(db_path, two_visits):
    src, summary = two_visits
    run_ingest(db_path, str(src), str(summary))
    rows = _query(db_path, """SELECT o.ra, o.dec, o.airmass, v.mjd FROM observations o JOIN visits v USING (visit)""")
    ra, dec, airmass, mjd = map(np.array, zip(*rows))
    site = get_site("subaru")
    iers.conf.auto_download = False
    lst = Time(mjd, format="mjd", scale="tai").sidereal_time("mean", longitude=site.longitude_deg * u.deg).deg
    ha, d, lat = np.radians(lst - ra), np.radians(dec), np.radians(site.latitude_deg)
    expect = 1 / (np.sin(d) * np.sin(lat) + np.cos(d) * np.cos(lat) * np.cos(ha))
    np.testing.assert_allclose(airmass, expect, rtol=1e-4)
    assert np.ptp(airmass) > 1e-3  # sources across the field get different airmasses


def test_each_selection_cut_is_counted_and_only_clean_sources_are_kept(db_path, tmp_path):
    cols = make_sources(7, 200, seed=3)
    defects = {  # reason -> rows made bad for that reason alone
        "flagged": ("pixelFlags_edge", True), "extended": ("extendedness", 0.5),
        "blended": ("deblend_nChild", 2), "sky": ("sky_source", True),
    }
    for i, (col, value) in enumerate(defects.values()):
        cols[col][10 * i:10 * i + 10] = value
    # S/N exactly 10 is rejected (strict cut), NaN S/N is rejected, S/N 1000 rejected as too high
    cols["apFlux_12_0_instFlux"][40:60] = 1000.0
    cols["apFlux_12_0_instFluxErr"][40:45] = 100.0
    cols["apFlux_12_0_instFluxErr"][45:50] = np.nan
    cols["apFlux_12_0_instFluxErr"][50:55] = 1.0
    cols["apFlux_12_0_instFluxErr"][55:60] = 10.0
    cols["apFlux_12_0_flag"][55:60] = True
    write_parquet(cols, tmp_path / "s.parquet")
    write_parquet(make_summary([7]), tmp_path / "v.parquet")
    run_ingest(db_path, str(tmp_path / "s.parquet"), str(tmp_path / "v.parquet"))
    row = _query(db_path, """SELECT n_in, n_flagged, n_extended, n_low_sn, n_high_sn, n_blended, n_sky,
                             n_bad_coord, n_bad_background, n_kept FROM selection_summary""")[0]
    assert row == (200, 15, 10, 10, 5, 10, 10, 0, 0, 140)
    kept = {r[0] for r in _query(db_path, "SELECT sourceId FROM observations")}
    assert kept == set(cols["sourceId"][60:].tolist())


def test_local_background_subtraction_changes_flux_and_rejects_nonpositive(db_path, tmp_path):
    cols = make_sources(8, 50, seed=4)
    area = np.pi * 12.0**2
    cols["localBackground_instFlux"][:] = 0.1 * cols["apFlux_12_0_instFlux"] / area  # removes 10 %
    cols["localBackground_instFlux"][:5] = 2.0 * cols["apFlux_12_0_instFlux"][:5] / area  # negative flux
    write_parquet(cols, tmp_path / "s.parquet")
    write_parquet(make_summary([8]), tmp_path / "v.parquet")
    config = tmp_path / "c.toml"
    config.write_text("[ingest]\nsubtract_local_background = true\n")
    run_ingest(db_path, str(tmp_path / "s.parquet"), str(tmp_path / "v.parquet"), config_path=str(config))
    assert _query(db_path, "SELECT n_bad_background, n_kept FROM selection_summary")[0] == (5, 45)
    rows = _query(db_path, """SELECT o.inst_flux, s.apFlux_12_0_instFlux, o.delta_mag_bkg, o.inst_mag
                             FROM observations o JOIN sources s USING (sourceId)""")
    inst, raw, dbkg, mag = map(np.array, zip(*rows))
    np.testing.assert_allclose(inst, 0.9 * raw, rtol=1e-12)
    np.testing.assert_allclose(dbkg, -2.5 * np.log10(0.9), atol=1e-12)
    np.testing.assert_allclose(mag, -2.5 * np.log10(0.9 * raw / EXPTIME), atol=1e-12)


def test_refcat_is_stored_long_with_ab_magnitudes_from_njy(db_path, two_visits, tmp_path):
    src, summary = two_visits
    ref = tmp_path / "ref.parquet"
    pq.write_table(pa.table({"id": [5, 6], "ra": [150.0, 150.1], "dec": [2.0, 2.1],
                             "g_flux": [3631e9, 3631e9 / 100], "g_fluxErr": [3631e7, 3631e5],
                             "r_flux": [1000.0, -1.0], "r_fluxErr": [10.0, 1.0]}), ref)
    run_ingest(db_path, str(src), str(summary), refcat=str(ref))
    rows = {(r[0], r[1]): r[2:] for r in _query(db_path, "SELECT ref_id, band, mag, mag_err FROM refcat")}
    assert len(rows) == 4
    assert rows[(5, "g")][0] == pytest.approx(-2.5 * np.log10(3631e9 * 1e-9 / 3631) + 0.0, abs=1e-3)
    assert rows[(6, "g")][0] == pytest.approx(5.0, abs=1e-3)
    assert rows[(5, "g")][1] == pytest.approx(1.0857362 * 0.01)
    assert rows[(5, "r")][0] == pytest.approx(31.4 - 7.5)
    assert rows[(6, "r")][0] is None  # non-positive flux: no magnitude, no sentinel


def test_real_2020_hsc_source_table_ingests_through_the_name_mapping(db_path, tmp_path, shared_data):
    """The jointcal HSC sourceTable (visit 34690, detectors 48/56/64, 2020 names, `filter` not `band`).

    No visit summary ships with it; the test builds one from the file's visit and detectors, with an
    assumed mid-exposure MJD and 30 s exposure (only inst_mag's offset and the airmass depend on them).
    """
    path = shared_data / "lsst_schema" / "subselected-sourceTable-0034690.parq"
    summary = make_summary([34690], detectors=[48, 56, 64], ra=337.8, dec=0.7)
    write_parquet(summary, tmp_path / "v.parquet")
    run_ingest(db_path, str(path), str(tmp_path / "v.parquet"))
    truth = pq.read_table(path, columns=["sourceId", "coord_ra", "coord_dec", "ApFlux_12_0_instFlux"]).to_pydict()
    got = _query(db_path, "SELECT sourceId, coord_ra, coord_dec, apFlux_12_0_instFlux, band, physical_filter "
                          "FROM sources ORDER BY sourceId")
    assert len(got) == 168
    order = np.argsort(truth["sourceId"])
    np.testing.assert_array_equal([g[1] for g in got], np.array(truth["coord_ra"])[order])
    assert {(g[4], g[5]) for g in got} == {("r", "HSC-R")}
    n_in, n_kept = _query(db_path, "SELECT n_in, n_kept FROM selection_summary")[0]
    assert n_in == 168 and n_kept == _query(db_path, "SELECT count(*) FROM observations")[0][0] > 0


def test_real_afw_visit_summary_fits_is_read_with_its_visit_info(shared_data):
    from fgcm_db.visit_summary import read_visit_summary, visit_rows

    summary = read_visit_summary(shared_data / "lsst_schema" / "visitSummary-849375.fits", {})
    row = summary.rows.to_pylist()[0]
    assert (row["visit"], row["detector"], row["band"]) == (849375, 12, "r")  # detector = record id
    assert row["expTime"] == pytest.approx(300.202)
    assert row["pressure"] == pytest.approx(615.79)  # 61579 Pa
    assert row["boresightRa"] == pytest.approx(np.degrees(3.750195534508815))
    visit = visit_rows(summary, get_site("subaru"), 0.0).to_pylist()[0]
    # CFHT shares Mauna Kea with Subaru: the VisitInfo's own airmass is 1.548 (with refraction)
    assert visit["airmass"] == pytest.approx(1.548, abs=0.02)
    # hour angle from the VisitInfo's Earth rotation angle: ERA + longitude - RA (0.1 deg: GMST vs ERA)
    era_ha = (np.degrees(1.04450766380733 - 2.713443770574792) - row["boresightRa"] + 180) % 360 - 180
    assert visit["hour_angle"] == pytest.approx(era_ha, abs=0.1)


# ------------------------------------------------------------------------------------------------
# idempotency and atomicity
# ------------------------------------------------------------------------------------------------
def test_ingesting_a_visit_again_replaces_its_rows_in_every_table(db_path, two_visits, tmp_path):
    src, summary = two_visits
    run_ingest(db_path, str(src), str(summary))
    before = snapshot(db_path)
    cols = make_sources(1001, 300, seed=9)  # visit 1001 again, different content
    again = tmp_path / "again"
    again.mkdir()
    write_parquet(cols, again / "s.parquet")
    write_parquet(make_summary([1001], detectors=range(50)), tmp_path / "v1.parquet")
    run_ingest(db_path, str(again), str(tmp_path / "v1.parquet"))
    per_visit = dict(_query(db_path, "SELECT visit, count(*) FROM sources GROUP BY visit"))
    assert per_visit == {1001: 300, 1002: 400}
    assert dict(_query(db_path, "SELECT visit, count(*) FROM observations GROUP BY visit")) == per_visit
    assert dict(_query(db_path, "SELECT visit, n_in FROM selection_summary")) == per_visit
    assert dict(_query(db_path, "SELECT visit, count(*) FROM visit_detectors GROUP BY visit")) == {1001: 50, 1002: 104}
    assert _query(db_path, "SELECT count(*) FROM visits")[0][0] == 2
    after = snapshot(db_path)
    keep = [r for r in before["sources"][1] if ", 1002, " in r]
    assert keep and keep == [r for r in after["sources"][1] if ", 1002, " in r]


def test_failure_mid_ingest_leaves_the_database_exactly_as_before(db_path, two_visits, monkeypatch):
    src, summary = two_visits
    run_ingest(db_path, str(src), str(summary))
    before = snapshot(db_path)
    written = []
    real_run = ingest_module._run

    def run_then_fail(db, name, params=None):
        if name == "ingest_visits":  # sources and observations of both visits are in by now
            written.append(db.con.execute("SELECT count(*) FROM observations").fetchall()[0][0])
            raise RuntimeError("injected failure mid-ingest")
        real_run(db, name, params)

    monkeypatch.setattr(ingest_module, "_run", run_then_fail)
    with pytest.raises(RuntimeError, match="injected"):
        run_ingest(db_path, str(src), str(summary))
    assert written == [800]  # the failure came after the new rows were inserted
    assert snapshot(db_path) == before
    assert _query(db_path, "SELECT status FROM runs ORDER BY run_id") == [("ok",), ("failed",)]


# ------------------------------------------------------------------------------------------------
# bad input: one-line FgcmDbError naming file/column/row; database unchanged
# ------------------------------------------------------------------------------------------------
@pytest.fixture()
def ingested(db_path, two_visits):
    """A database holding a good ingest, and its snapshot."""
    src, summary = two_visits
    run_ingest(db_path, str(src), str(summary))
    return db_path, snapshot(db_path), summary


def _refused(db_path, before, sources, visits, match, **kwargs):
    with pytest.raises(FgcmDbError, match=match) as info:
        run_ingest(db_path, str(sources), str(visits), **kwargs)
    assert "\n" not in str(info.value)
    assert snapshot(db_path) == before
    return str(info.value)


def test_missing_source_path_is_refused(ingested, tmp_path):
    db_path, before, summary = ingested
    _refused(db_path, before, tmp_path / "nowhere", summary, "no such file or directory")


def test_empty_glob_is_refused(ingested, tmp_path):
    db_path, before, summary = ingested
    _refused(db_path, before, tmp_path / "*.nothing", summary, "matches no files")


def test_non_parquet_file_is_refused(ingested, tmp_path):
    db_path, before, summary = ingested
    bad = tmp_path / "notes.parquet"
    bad.write_text("visit,detector\n1,2\n")
    _refused(db_path, before, bad, summary, "not a parquet or FITS file")


def test_truncated_parquet_is_refused(ingested, tmp_path):
    db_path, before, summary = ingested
    good = write_parquet(make_sources(1001, 100, 5), tmp_path / "whole.parquet")
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    _refused(db_path, before, cut, summary, "truncated parquet")


def test_missing_required_columns_are_all_listed_at_once(ingested, tmp_path):
    db_path, before, summary = ingested
    cols = make_sources(1001, 10, 5)
    for c in ("extendedness", "pixelFlags_edge", "x"):
        del cols[c]
    msg = _refused(db_path, before, write_parquet(cols, tmp_path / "s.parquet"), summary, "missing required")
    assert all(c in msg for c in ("extendedness", "pixelFlags_edge", " x")) and "s.parquet" in msg


def test_wrong_column_type_is_refused(ingested, tmp_path):
    db_path, before, summary = ingested
    cols = make_sources(1001, 10, 5)
    cols["coord_ra"] = cols["coord_ra"].astype(str).astype(object)
    _refused(db_path, before, write_parquet(cols, tmp_path / "s.parquet"), summary,
             r"column coord_ra has type str, expected float")


def test_nan_coordinates_are_refused_with_the_row(ingested, tmp_path):
    db_path, before, summary = ingested
    cols = make_sources(1001, 10, 5)
    cols["coord_dec"][7] = np.nan
    _refused(db_path, before, write_parquet(cols, tmp_path / "s.parquet"), summary, r"s\.parquet: row 7: .*NaN")


def test_out_of_range_coordinates_are_refused_with_the_row(ingested, tmp_path):
    db_path, before, summary = ingested
    cols = make_sources(1001, 10, 5)
    cols["coord_dec"][3] = 95.0
    _refused(db_path, before, write_parquet(cols, tmp_path / "s.parquet"), summary, r"row 3: coordinates .* out of range")


def test_nan_coordinates_can_be_allowed_and_are_then_rejected_by_the_selection(db_path, tmp_path):
    cols = make_sources(1001, 10, 5)
    cols["coord_ra"][2] = np.nan
    config = tmp_path / "c.toml"
    config.write_text("[ingest]\nallow_nan_coordinates = true\n")
    run_ingest(db_path, str(write_parquet(cols, tmp_path / "s.parquet")),
               str(write_parquet(make_summary([1001]), tmp_path / "v.parquet")), config_path=str(config))
    assert _query(db_path, "SELECT n_bad_coord, n_kept FROM selection_summary")[0] == (1, 9)


def test_duplicate_source_id_is_refused_naming_both_places(ingested, tmp_path):
    db_path, before, summary = ingested
    a = make_sources(1001, 10, 5)
    b = make_sources(1002, 10, 6, first_id=int(a["sourceId"][4]))
    d = tmp_path / "dup"
    d.mkdir()
    write_parquet(a, d / "a.parquet")
    write_parquet(b, d / "b.parquet")
    msg = _refused(db_path, before, d, summary, "duplicate sourceId")
    assert "a.parquet row 4" in msg and "b.parquet row 0" in msg


def test_visit_missing_from_the_summary_is_refused(ingested, tmp_path):
    db_path, before, summary = ingested
    cols = make_sources(4242, 10, 5)
    _refused(db_path, before, write_parquet(cols, tmp_path / "s.parquet"), summary,
             r"row 0: visit 4242 is not in the visit summary")


def test_summary_visit_without_sources_only_warns(db_path, tmp_path, caplog):
    src = write_parquet(make_sources(1001, 20, 5), tmp_path / "s.parquet")
    summary = write_parquet(make_summary([1001, 1003]), tmp_path / "v.parquet")
    with caplog.at_level(logging.WARNING, logger="fgcm_db.ingest"):
        run_ingest(db_path, str(src), str(summary))
    assert any("have no sources (first: 1003)" in r.message for r in caplog.records)
    assert _query(db_path, "SELECT count(*) FROM visits")[0][0] == 2


def test_negative_exposure_time_is_refused(ingested, tmp_path):
    db_path, before, _ = ingested
    src = write_parquet(make_sources(1001, 10, 5), tmp_path / "s.parquet")
    summary = make_summary([1001], detectors=range(3))
    summary["expTime"][1] = -30.0
    _refused(db_path, before, src, write_parquet(summary, tmp_path / "v.parquet"), r"row 1 .*expTime -30.0")


def test_unknown_physical_filter_without_band_is_refused(ingested, tmp_path):
    db_path, before, summary = ingested
    cols = make_sources(1001, 10, 5)
    del cols["band"]
    cols["physical_filter"][:] = "HSC-Q"
    _refused(db_path, before, write_parquet(cols, tmp_path / "s.parquet"), summary,
             r"row 0: unknown band for physical_filter HSC-Q; add it to \[ingest\] filter_to_band")


def test_band_disagreeing_with_the_visit_summary_is_refused(ingested, tmp_path):
    db_path, before, summary = ingested
    cols = make_sources(1001, 10, 5)
    cols["band"][:] = "g"
    _refused(db_path, before, write_parquet(cols, tmp_path / "s.parquet"), summary, "band g disagrees")


def test_command_line_prints_one_line_and_exits_2_on_bad_input(db_path, tmp_path, capsys):
    status = main(["--db", str(db_path), "ingest", "--sources", str(tmp_path / "absent"),
                   "--visits", str(tmp_path / "v.parquet")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert err[-1].startswith("fgcm-db ingest: error: --sources") and "no such file" in err[-1]


def test_site_option_sets_longitude_night_boundary_and_metadata(db_path, two_visits):
    src, summary = two_visits
    run_ingest(db_path, str(src), str(summary), site="blanco")
    mjd, night, ha = _query(db_path, "SELECT mjd, night, hour_angle FROM visits ORDER BY visit LIMIT 1")[0]
    assert night == int(np.floor(mjd - 0.5))  # Chilean nights: boundary at UT 12h
    iers.conf.auto_download = False
    lst = Time(mjd, format="mjd", scale="tai").sidereal_time("mean", longitude=-70.81489 * u.deg).deg
    assert abs(((lst - 150.0 + 180) % 360 - 180) - ha) < 0.01
    assert '"blanco"' in _query(db_path, "SELECT value FROM metadata WHERE key = 'site'")[0][0]


def test_camera_file_replaces_detectors_and_unknown_detectors_warn(db_path, two_visits, tmp_path, caplog):
    src, summary = two_visits
    camera = tmp_path / "camera.yaml"
    camera.write_text("detectors:\n"
                      "  - {detector: 0, x_size: 100, y_size: 200, fp_x: 0.0, fp_y: 0.0, pixel_scale: 0.2, rotation: 0}\n"
                      "  - {detector: 1, x_size: 100, y_size: 200, fp_x: 2.0, fp_y: 0.0, pixel_scale: 0.2, rotation: 0}\n")
    with caplog.at_level(logging.WARNING, logger="fgcm_db.ingest"):
        run_ingest(db_path, str(src), str(summary), camera=str(camera))
    assert _query(db_path, "SELECT detector, x_size FROM detectors ORDER BY detector") == [(0, 100), (1, 100)]
    assert any("absent from the camera" in r.message for r in caplog.records)
    run_ingest(db_path, str(src), str(summary))  # no --camera: the loaded camera stays
    assert _query(db_path, "SELECT count(*) FROM detectors")[0][0] == 2


def test_psf_flux_as_calibration_flux_needs_the_column(ingested, tmp_path):
    db_path, before, summary = ingested
    config = tmp_path / "c.toml"
    config.write_text('[ingest]\nflux_field = "psfFlux"\n')
    src = write_parquet(make_sources(1001, 10, 5), tmp_path / "s.parquet")
    _refused(db_path, before, src, summary, r"s\.parquet: no column for the calibration flux", config_path=str(config))


def test_observations_are_stored_in_visit_detector_source_order(db_path, two_visits):
    src, summary = two_visits
    run_ingest(db_path, str(src), str(summary))
    keys = _query(db_path, "SELECT visit, detector, sourceId FROM observations")
    assert len(keys) == 800 and keys == sorted(keys)
