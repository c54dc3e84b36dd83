"""`fgcm-db calibrate-exposure` end to end: outputs, re-runs, transactions, require flags, and one test
per bad-input row of CALIBRATE_EXPOSURE.md 5.4 (exit status 2 for input errors, 3 for failed
calibrations, a one-line message with the key phrase, nothing partial in the database)."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from astropy.io import fits

from fgcm_db.cli import main
from fgcm_db.columns import SOURCE_COLUMNS
from fgcm_db.exposure.simulate import SimConfig, simulate_exposure


@pytest.fixture(scope="module")
def sim_files(tmp_path_factory):
    """A 1k x 1k simulated exposure, its reference catalog, and the simulation."""
    d = tmp_path_factory.mktemp("cli")
    sim = simulate_exposure(SimConfig(nx=1024, ny=1024, n_stars=2200, n_saturated=2, seed=8))
    return sim, sim.write(d / "exp.fits"), sim.write_refcat(d / "ref.parquet")


def cli(db, *args):
    return main(["--db", str(db), "calibrate-exposure", *map(str, args)])


def rows(db, sql):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err, "expected an error message on stderr"
    return err[-1]


def modified(tmp_path, src, edit, name="bad.fits"):
    """Copy of the exposure file after ``edit(hdul)``."""
    with fits.open(src) as hdul:
        edit(hdul)
        dest = tmp_path / name
        hdul.writeto(dest, overwrite=True)
    return dest


# -- outputs -----------------------------------------------------------------------------------
def test_writes_calibration_row_sources_and_parquet_in_the_sourcetable_visit_layout(sim_files, tmp_path):
    sim, exposure, refcat = sim_files
    db = tmp_path / "x.duckdb"
    out_src, out_fits = tmp_path / "src.parquet", tmp_path / "cal.fits"
    assert cli(db, "--exposure", exposure, "--refcat", refcat, "--out-sources", out_src, "--out-fits", out_fits) == 0
    (status, n_match, rms, zp, zp_err, scatter, n_zp, magzero, header), = rows(
        db, "SELECT status, n_astrom_match, astrom_rms_arcsec, zp_mag, zp_err, zp_scatter, n_zp, magzero, wcs_header "
            "FROM exposure_calibration")
    assert status == "ok" and n_match >= 30 and rms < 0.03
    assert abs(zp - sim.zp_true_ap12) < 0.01 and zp_err > 0 and scatter > 0 and n_zp >= 10
    assert magzero == pytest.approx(zp - 2.5 * np.log10(sim.config.exptime), abs=1e-9)
    assert "A_ORDER" in header and "AP_ORDER" in header
    n_db = rows(db, "SELECT count(*) FROM sources WHERE visit = 1228 AND detector = 42")[0][0]
    table = pq.read_table(out_src)
    assert table.column_names == [c.name for c in SOURCE_COLUMNS] and table.num_rows == n_db > 100
    assert table.schema.field("sourceId").type == pa.int64() and table.schema.field("detector").type == pa.int32()
    assert rows(db, "SELECT count(*) FROM sources s JOIN exposure_sources e USING (sourceId) "
                    "WHERE e.calib_photometry_used AND s.coord_ra IS NOT NULL")[0][0] == n_zp
    with fits.open(out_fits) as hdul:
        h = hdul["IMAGE"].header
        assert h["MAGZERO"] == pytest.approx(magzero) and h["MAGZERO_NOBJ"] == n_zp
        assert h["CTYPE1"] == "RA---TAN-SIP" and "AP_ORDER" in hdul["MASK"].header


def test_rerun_replaces_its_own_rows(sim_files, tmp_path):
    _, exposure, refcat = sim_files
    db = tmp_path / "x.duckdb"
    for _ in range(2):
        assert cli(db, "--exposure", exposure, "--refcat", refcat) == 0
    assert rows(db, "SELECT count(*) FROM exposure_calibration")[0][0] == 1
    n_sources, n_extras = rows(db, "SELECT (SELECT count(*) FROM sources), (SELECT count(*) FROM exposure_sources)")[0]
    assert n_sources == n_extras > 0
    assert rows(db, "SELECT count(DISTINCT sourceId) FROM sources")[0][0] == n_sources


def test_a_failure_while_writing_leaves_the_previous_rows_untouched(sim_files, tmp_path, monkeypatch):
    import fgcm_db.exposure.calibrate as calibrate

    _, exposure, refcat = sim_files
    db = tmp_path / "x.duckdb"
    assert cli(db, "--exposure", exposure, "--refcat", refcat) == 0
    before = rows(db, "SELECT count(*), sum(x) FROM sources")
    out = tmp_path / "never.parquet"

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(calibrate, "calibration_row", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        cli(db, "--exposure", exposure, "--refcat", refcat, "--out-sources", out)
    assert rows(db, "SELECT count(*), sum(x) FROM sources") == before
    assert rows(db, "SELECT count(*) FROM exposure_calibration")[0][0] == 1
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))


def test_sources_ingested_for_the_same_visit_detector_are_refused(sim_files, tmp_path, capsys):
    _, exposure, refcat = sim_files
    db = tmp_path / "x.duckdb"
    assert cli(db, "--exposure", exposure, "--refcat", refcat, "--exposure-id", 7) == 0
    assert cli(db, "--exposure", exposure, "--refcat", refcat) == 2
    assert "not written by calibrate-exposure of exposure 1228042" in error_line(capsys)


# -- require flags -------------------------------------------------------------------------------
def test_required_astrometry_failure_exits_3_with_a_status_row_and_no_sources(sim_files, tmp_path, capsys):
    sim, exposure, _ = sim_files
    elsewhere = sim.write_refcat(tmp_path / "elsewhere.parquet", ra_offset_deg=5.0)
    db = tmp_path / "x.duckdb"
    assert cli(db, "--exposure", exposure, "--refcat", elsewhere) == 3
    assert "0 reference objects" in error_line(capsys)
    (status, detail, header, zp), = rows(
        db, "SELECT status, status_detail, wcs_header, zp_mag FROM exposure_calibration")
    assert status == "astrometry_failed" and "MatcherFailure" in detail and header is None and zp is None
    assert rows(db, "SELECT count(*) FROM sources")[0][0] == 0
    assert rows(db, "SELECT status FROM runs")[-1][0] == "failed"


def test_allowed_astrometry_failure_completes_with_null_coordinates_and_no_photocal(sim_files, tmp_path):
    sim, exposure, _ = sim_files
    elsewhere = sim.write_refcat(tmp_path / "elsewhere.parquet", ra_offset_deg=5.0)
    db = tmp_path / "x.duckdb"
    assert cli(db, "--exposure", exposure, "--refcat", elsewhere, "--allow-astrometry-failure") == 0
    assert rows(db, "SELECT status, zp_mag, wcs_header FROM exposure_calibration") == [
        ("astrometry_failed", None, None)]
    n, n_null = rows(db, "SELECT count(*), count(*) FILTER (WHERE coord_ra IS NULL) FROM sources")[0]
    assert n == n_null > 0


def test_allowed_photocal_failure_keeps_a_valid_wcs_and_null_zero_point(sim_files, tmp_path):
    _, exposure, refcat = sim_files
    db = tmp_path / "x.duckdb"
    config = tmp_path / "c.toml"
    config.write_text("[exposure.photocal]\nref_mag_faint = 5.0\n")
    assert cli(db, "--exposure", exposure, "--refcat", refcat, "--config", config, "--allow-photocal-failure") == 0
    (status, detail, header, zp), = rows(
        db, "SELECT status, status_detail, wcs_header, zp_mag FROM exposure_calibration")
    assert status == "photocal_failed" and "no matches to use for photocal" in detail
    assert "A_ORDER" in header and zp is None
    assert rows(db, "SELECT count(*) FROM sources WHERE coord_ra IS NULL AND NOT sky_source")[0][0] == 0


# -- 5.4: bad inputs -----------------------------------------------------------------------------
def test_missing_file_and_non_fits_file_are_input_errors(sim_files, tmp_path, capsys):
    _, _, refcat = sim_files
    assert cli(tmp_path / "x.duckdb", "--exposure", tmp_path / "absent.fits", "--refcat", refcat) == 2
    assert "no such file" in error_line(capsys)
    text = tmp_path / "notes.fits"
    text.write_text("hello, not FITS")
    assert cli(tmp_path / "x.duckdb", "--exposure", text, "--refcat", refcat) == 2
    assert "not a FITS file" in error_line(capsys)


def test_missing_hdu_is_named_with_those_present(sim_files, tmp_path, capsys):
    _, exposure, refcat = sim_files
    bad = modified(tmp_path, exposure, lambda h: h.pop(3))
    assert cli(tmp_path / "x.duckdb", "--exposure", bad, "--refcat", refcat) == 2
    msg = error_line(capsys)
    assert "missing HDU VARIANCE" in msg and "IMAGE" in msg


def test_planes_of_different_shapes_are_listed(sim_files, tmp_path, capsys):
    _, exposure, refcat = sim_files

    def crop(h):
        h["VARIANCE"].data = h["VARIANCE"].data[:500]

    assert cli(tmp_path / "x.duckdb", "--exposure", modified(tmp_path, exposure, crop), "--refcat", refcat) == 2
    assert "VARIANCE (500, 1024)" in error_line(capsys)


@pytest.mark.parametrize("edit, phrase", [
    (lambda h: [h["IMAGE"].header.remove(k) for k in ("CTYPE1", "CTYPE2")], "no usable starting WCS"),
    (lambda h: h["IMAGE"].header.update(CD1_1=0.0, CD1_2=0.0), "no usable starting WCS"),
    (lambda h: h["IMAGE"].header.update(CD1_1=-0.02, CD2_2=0.02, CD1_2=0.0, CD2_1=0.0), "implausible pixel scale"),
])
def test_unusable_starting_wcs_is_an_input_error(sim_files, tmp_path, capsys, edit, phrase):
    _, exposure, refcat = sim_files
    assert cli(tmp_path / "x.duckdb", "--exposure", modified(tmp_path, exposure, edit), "--refcat", refcat) == 2
    assert phrase in error_line(capsys)


def test_bad_variance_is_refused_unless_masked_on_request(sim_files, tmp_path, capsys):
    _, exposure, refcat = sim_files

    def zero_variance(h):
        h["VARIANCE"].data[10:20, 10:20] = 0.0

    bad = modified(tmp_path, exposure, zero_variance)
    assert cli(tmp_path / "x.duckdb", "--exposure", bad, "--refcat", refcat) == 2
    assert "VARIANCE <= 0 or NaN on 100 unmasked pixels" in error_line(capsys)
    assert cli(tmp_path / "x.duckdb", "--exposure", bad, "--refcat", refcat, "--mask-bad-variance") == 0
    assert "masked as BAD" in rows(tmp_path / "x.duckdb", "SELECT warnings FROM exposure_calibration")[0][0]


def test_nan_image_pixels_are_masked_with_a_warning_and_refused_above_half(sim_files, tmp_path, capsys):
    _, exposure, refcat = sim_files

    def some_nan(h):
        h["IMAGE"].data[:5, :] = np.nan

    def mostly_nan(h):
        h["IMAGE"].data[:600, :] = np.nan

    db = tmp_path / "x.duckdb"
    assert cli(db, "--exposure", modified(tmp_path, exposure, some_nan), "--refcat", refcat) == 0
    assert "masked as NO_DATA" in rows(db, "SELECT warnings FROM exposure_calibration")[0][0]
    assert cli(db, "--exposure", modified(tmp_path, exposure, mostly_nan, "b.fits"), "--refcat", refcat) == 2
    assert "> 50%" in error_line(capsys)


def test_mask_without_plane_definitions_is_an_input_error(sim_files, tmp_path, capsys):
    _, exposure, refcat = sim_files

    def strip(h):
        for k in [k for k in h["MASK"].header if k.startswith("MP_")]:
            del h["MASK"].header[k]

    assert cli(tmp_path / "x.duckdb", "--exposure", modified(tmp_path, exposure, strip), "--refcat", refcat) == 2
    assert "no MP_<NAME> bit definitions" in error_line(capsys)


def test_missing_exptime_still_calibrates_with_null_magzero_and_a_warning(sim_files, tmp_path):
    _, exposure, refcat = sim_files
    db = tmp_path / "x.duckdb"
    bad = modified(tmp_path, exposure, lambda h: h[0].header.remove("EXPTIME"))
    assert cli(db, "--exposure", bad, "--refcat", refcat) == 0
    (status, zp, magzero, warnings), = rows(db, "SELECT status, zp_mag, magzero, warnings FROM exposure_calibration")
    assert status == "ok" and zp is not None and magzero is None and "EXPTIME" in warnings


def test_unresolvable_band_asks_for_band(sim_files, tmp_path, capsys):
    _, exposure, refcat = sim_files
    bad = modified(tmp_path, exposure, lambda h: h[0].header.update(FILTER="_unknown_"))
    assert cli(tmp_path / "x.duckdb", "--exposure", bad, "--refcat", refcat) == 2
    msg = error_line(capsys)
    assert "cannot resolve the band" in msg and "pass --band" in msg


def test_refcat_missing_unreadable_or_without_coordinates(sim_files, tmp_path, capsys):
    _, exposure, _ = sim_files
    db = tmp_path / "x.duckdb"
    assert cli(db, "--exposure", exposure, "--refcat", tmp_path / "absent.parquet") == 2
    assert "no such file" in error_line(capsys)
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    assert cli(db, "--exposure", exposure, "--refcat", junk) == 2
    assert "as parquet" in error_line(capsys)
    nocoord = tmp_path / "nocoord.parquet"
    pq.write_table(pa.table({"RA": [1.0], "r_mag": [20.0]}), nocoord)
    assert cli(db, "--exposure", exposure, "--refcat", nocoord) == 2
    msg = error_line(capsys)
    assert "needs columns ra, dec" in msg and "columns found: RA, r_mag" in msg


def test_refcat_without_the_band_lists_the_available_bands(sim_files, tmp_path, capsys):
    _, exposure, refcat = sim_files
    assert cli(tmp_path / "x.duckdb", "--exposure", exposure, "--refcat", refcat, "--band", "i") == 2
    assert "no i_mag/i_flux column; available bands: g, r" in error_line(capsys)


def test_refcat_with_all_nan_magnitudes_is_a_photocal_error(sim_files, tmp_path, capsys):
    _, exposure, refcat = sim_files
    table = pq.read_table(refcat)
    nan = table.set_column(table.column_names.index("r_mag"), "r_mag", pa.array(np.full(table.num_rows, np.nan)))
    path = tmp_path / "nan.parquet"
    pq.write_table(nan, path)
    assert cli(tmp_path / "x.duckdb", "--exposure", exposure, "--refcat", path) == 3
    assert "no usable reference photometry" in error_line(capsys)


def test_blank_frame_has_too_few_sources_for_a_match(sim_files, tmp_path, capsys):
    _, exposure, refcat = sim_files

    def blank(h):
        rng = np.random.default_rng(1)
        h["IMAGE"].data = rng.normal(0, 28.0, h["IMAGE"].data.shape).astype(np.float32)

    assert cli(tmp_path / "x.duckdb", "--exposure", modified(tmp_path, exposure, blank), "--refcat", refcat) == 3
    assert "good sources" in error_line(capsys)


def test_unrelated_reference_positions_give_no_pattern_match(sim_files, tmp_path, capsys):
    sim, exposure, refcat = sim_files
    table = pq.read_table(refcat)
    rng = np.random.default_rng(4)
    ra, dec = table["ra"].to_numpy(), table["dec"].to_numpy()
    shuffled = table.set_column(1, "ra", pa.array(rng.uniform(ra.min(), ra.max(), len(ra)))).set_column(
        2, "dec", pa.array(rng.uniform(dec.min(), dec.max(), len(dec))))
    path = tmp_path / "random.parquet"
    pq.write_table(shuffled, path)
    assert cli(tmp_path / "x.duckdb", "--exposure", exposure, "--refcat", path) == 3
    assert "no pattern match" in error_line(capsys)


def test_too_few_zero_point_stars_is_a_photocal_error(sim_files, tmp_path, capsys):
    _, exposure, refcat = sim_files
    config = tmp_path / "c.toml"
    config.write_text("[exposure.photocal]\nmin_stars = 100000\n")
    assert cli(tmp_path / "x.duckdb", "--exposure", exposure, "--refcat", refcat, "--config", config) == 3
    assert "stars for the zero-point (need 100000)" in error_line(capsys)


def test_colour_terms_requested_but_missing_for_the_band(sim_files, tmp_path, capsys):
    _, exposure, refcat = sim_files
    config = tmp_path / "c.toml"
    config.write_text('[exposure.photocal]\napply_color_terms = true\n'
                      '[exposure.color_terms.g]\nprimary = "g"\nsecondary = "r"\nc1 = 0.1\n')
    assert cli(tmp_path / "x.duckdb", "--exposure", exposure, "--refcat", refcat, "--config", config) == 2
    assert "none for band r" in error_line(capsys)
    config.write_text('[exposure.photocal]\napply_color_terms = true\n')
    assert cli(tmp_path / "x.duckdb", "--exposure", exposure, "--refcat", refcat, "--config", config) == 2
    assert "defines none" in error_line(capsys)


def test_icsrc_missing_fields_are_all_listed(sim_files, tmp_path, capsys):
    _, exposure, refcat = sim_files
    icsrc = tmp_path / "icsrc.parquet"
    pq.write_table(pa.table({"x": [1.0], "y": [2.0], "calib_psf_used": [True]}), icsrc)
    assert cli(tmp_path / "x.duckdb", "--exposure", exposure, "--refcat", refcat, "--icsrc", icsrc) == 2
    msg = error_line(capsys)
    assert "calib_psf_candidate" in msg and "calib_psf_reserved" in msg


# -- big-endian / float64 inputs ---------------------------------------------------------------------
def test_big_endian_float32_and_float64_planes_are_accepted(tmp_path):
    from fgcm_db.exposure.io import read_exposure

    sim = simulate_exposure(SimConfig(nx=256, ny=256, n_stars=60, n_saturated=0, seed=9))
    for dtype in (">f4", ">f8"):
        exp = read_exposure(sim.write(tmp_path / f"e{dtype[1:]}.fits", dtype=dtype))
        assert exp.image.dtype == np.float32 and exp.image.dtype.isnative
        assert np.allclose(exp.image, sim.image)


# -- real data ---------------------------------------------------------------------------------------
def test_real_hsc_cutout_is_measured_and_astrometry_failure_is_reported_clearly(shared_data, tmp_path, capsys):
    """A 200x200 HSC calexp cutout has too few stars for an astrometric fit: it must say so, not succeed."""
    image = shared_data / "images" / "HSC-0908120-056-small.fits"
    local = tmp_path / "hsc.fits"
    shutil.copy(image, local)
    from fgcm_db.exposure.io import read_exposure

    exp = read_exposure(local)
    ny, nx = exp.shape
    ra, dec = exp.wcs.all_pix2world([0, nx - 1], [0, ny - 1], 0)
    rng = np.random.default_rng(5)  # a reference catalog over the cutout (positions only matter here)
    refcat = tmp_path / "ref.parquet"
    pq.write_table(pa.table({"ra": rng.uniform(min(ra), max(ra), 40), "dec": rng.uniform(min(dec), max(dec), 40),
                             "i_mag": rng.uniform(18, 22, 40)}), refcat)
    db = tmp_path / "x.duckdb"
    args = ("--exposure", local, "--refcat", refcat, "--band", "i", "--visit", 908120, "--detector", 56)
    assert cli(db, *args) == 3
    assert "good sources with S/N" in error_line(capsys)
    assert cli(db, *args, "--allow-astrometry-failure") == 0
    (status, n_src, fwhm, rms), = rows(db, "SELECT status, n_sources, psf_fwhm_arcsec, background_rms "
                                           "FROM exposure_calibration")
    assert status == "astrometry_failed" and 5 <= n_src <= 100
    assert 0.5 < fwhm < 1.6 and 10 < rms < 40  # HSC seeing; sky noise ~ sqrt(VARIANCE ~ 430)
    n, n_flux, x_min, y_max = rows(db, "SELECT count(*), count(*) FILTER (WHERE apFlux_12_0_instFlux > 0), "
                                       "min(x), max(y) FROM sources WHERE NOT sky_source")[0]
    assert n == n_src and n_flux >= 5
    assert 100 <= x_min and y_max <= 300  # detector pixels: the cutout starts at XY0 = (100, 100) (LTV1/2)


def test_out_sources_parquet_is_taken_by_ingest(sim_files, tmp_path):
    sim, exposure, refcat = sim_files
    out_src = tmp_path / "src.parquet"
    assert cli(tmp_path / "cal.duckdb", "--exposure", exposure, "--refcat", refcat, "--out-sources", out_src) == 0
    visits = tmp_path / "visits.parquet"
    c = sim.config
    pq.write_table(pa.table({
        "visit": [c.visit], "detector": pa.array([c.detector], pa.int32()), "band": [c.band],
        "physical_filter": [c.physical_filter], "expMidptMJD": [c.mjd], "expTime": [c.exptime],
        "zenithDistance": [30.0], "boresightRa": [c.center_ra], "boresightDec": [c.center_dec],
        "boresightRotAngle": [0.0], "pressure": [620.0], "psfSigma": [1.7], "skyBg": [c.sky]}), visits)
    db = tmp_path / "tract.duckdb"
    assert main(["--db", str(db), "ingest", "--sources", str(out_src), "--visits", str(visits)]) == 0
    n_in = pq.read_metadata(out_src).num_rows
    assert rows(db, "SELECT count(*) FROM sources")[0][0] == n_in
    assert rows(db, "SELECT count(*) FROM observations")[0][0] > 30


def test_no_astrometry_keeps_the_starting_wcs_and_no_photocal_skips_the_zero_point(tmp_path):
    sim = simulate_exposure(SimConfig(nx=1024, ny=1024, n_stars=2200, n_saturated=2, max_distortion_pix=0.0,
                                      start_shift_pix=(0.0, 0.0), start_rotation_deg=0.0, seed=12))
    exposure, refcat = sim.write(tmp_path / "e.fits"), sim.write_refcat(tmp_path / "r.parquet")
    db = tmp_path / "x.duckdb"
    assert cli(db, "--exposure", exposure, "--refcat", refcat, "--no-astrometry") == 0
    (status, source, n_match, zp), = rows(db, "SELECT status, wcs_source, n_astrom_match, zp_mag "
                                              "FROM exposure_calibration")
    assert status == "ok" and source == "input" and n_match is None and abs(zp - sim.zp_true_ap12) < 0.01
    assert cli(db, "--exposure", exposure, "--refcat", refcat, "--no-photocal") == 0
    (status, source, zp), = rows(db, "SELECT status, wcs_source, zp_mag FROM exposure_calibration")
    assert status == "photocal_skipped" and source == "fitted" and zp is None


def test_icsrc_fields_are_copied_into_sources_and_extras(sim_files, tmp_path):
    sim, exposure, refcat = sim_files
    s = sim.stars
    on = np.flatnonzero((s["x"] > 20) & (s["x"] < 1000) & (s["y"] > 20) & (s["y"] < 1000) & (s["r_mag"] > 15))
    bright = on[np.argsort(s["r_mag"][on])[:50]]
    icsrc = tmp_path / "icsrc.parquet"
    pq.write_table(pa.table({"x": s["x"][bright], "y": s["y"][bright], "calib_psf_candidate": np.ones(50, bool),
                             "calib_psf_used": np.arange(50) % 2 == 0, "calib_psf_reserved": np.zeros(50, bool)}),
                   icsrc)
    db = tmp_path / "x.duckdb"
    assert cli(db, "--exposure", exposure, "--refcat", refcat, "--icsrc", icsrc) == 0
    n_detected, n_candidate, n_used = rows(
        db, "SELECT count(*) FILTER (WHERE e.calib_detected), count(*) FILTER (WHERE s.calib_psf_candidate), "
            "count(*) FILTER (WHERE e.calib_psf_used) FROM sources s JOIN exposure_sources e USING (sourceId)")[0]
    assert 48 <= n_detected <= 50 and n_candidate == n_detected and 20 <= n_used <= 25
