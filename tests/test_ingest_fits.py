"""`fgcm-db ingest` of per-detector afw `src` FITS catalogs (issue 9) and the fast FITS table reader."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest
from astropy.io import fits
from ingest_inputs import make_sources, make_summary, snapshot, write_parquet

from fgcm_db.errors import FgcmDbError
from fgcm_db.fitsbin import read_bintables
from fgcm_db.ingest import run_ingest

SRC_NAME = "src_HSC_i_HSC-I_903986_0_31_HSC_runs_ci_hsc_20210407T021858Z.fits"


@pytest.fixture()
def src_fits(shared_data):
    return shared_data / "catalogs" / "faro_hsc" / SRC_NAME


@pytest.fixture()
def src_summary(tmp_path):
    """Visit summary for the real src file: visit 903986, detector 31, HSC-I (from the file name).

    No summary ships with the file; the exposure time (30 s), mid-exposure MJD and boresight near the
    catalog (RA 320.9, Dec -0.5) are assumptions that only shift inst_mag and the airmass.
    """
    return write_parquet(make_summary([903986], detectors=[31], band="i", physical_filter="HSC-I",
                                      ra=320.9, dec=-0.5), tmp_path / "visit_summary.parquet")


def _query(db_path, sql):
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_real_src_catalog_ingests_all_771_rows_with_coordinates_in_degrees(db_path, src_fits, src_summary):
    run_ingest(db_path, str(src_fits), str(src_summary))
    with fits.open(src_fits) as hdul:
        data = hdul[1].data
        ra_rad, dec_rad, ids = data["coord_ra"], data["coord_dec"], data["id"]
        bit = [hdul[1].header[f"TFLAG{i}"] for i in range(1, 123)].index("base_PixelFlags_flag_edge")
        edge = data["flags"][:, bit]
    got = _query(db_path, "SELECT sourceId, coord_ra, coord_dec, pixelFlags_edge, visit, detector, band "
                          "FROM sources ORDER BY source_row")
    assert len(got) == 771
    assert [g[0] for g in got] == ids.tolist()
    np.testing.assert_allclose([g[1] for g in got], np.degrees(ra_rad), rtol=0, atol=1e-12)
    np.testing.assert_allclose([g[2] for g in got], np.degrees(dec_rad), rtol=0, atol=1e-12)
    assert [g[3] for g in got] == edge.tolist()
    assert {g[4:] for g in got} == {(903986, 31, "i")}
    n_in, n_sky, n_kept = _query(db_path, "SELECT n_in, n_sky, n_kept FROM selection_summary")[0]
    assert n_in == 771 and n_sky == 100
    assert 0 < n_kept == _query(db_path, "SELECT count(*) FROM observations")[0][0]


def test_mixed_directory_of_parquet_and_fits_ingests_in_one_run(db_path, tmp_path, src_fits):
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / SRC_NAME).symlink_to(src_fits)
    write_parquet(make_sources(1001, 50, 1, ra0=320.9, dec0=-0.5), mixed / "sourceTable_1001.parquet")
    summary = make_summary([903986], detectors=[31], band="i", physical_filter="HSC-I", ra=320.9, dec=-0.5)
    other = make_summary([1001], ra=320.9, dec=-0.5)
    both = {k: np.concatenate([summary[k], other[k]]) for k in summary}
    run_ingest(db_path, str(mixed), str(write_parquet(both, tmp_path / "v.parquet")))
    assert dict(_query(db_path, "SELECT visit, n_in FROM selection_summary")) == {903986: 771, 1001: 50}


def test_visit_and_detector_options_serve_files_whose_names_carry_neither(db_path, tmp_path, src_fits, src_summary):
    renamed = tmp_path / "catalog.fits"
    renamed.symlink_to(src_fits)
    run_ingest(db_path, str(renamed), str(src_summary), visit=903986, detector=31)
    assert _query(db_path, "SELECT visit, detector, count(*) FROM sources GROUP BY ALL") == [(903986, 31, 771)]


def test_file_name_without_visit_and_no_options_is_refused(db_path, tmp_path, src_fits, src_summary):
    renamed = tmp_path / "catalog.fits"
    renamed.symlink_to(src_fits)
    with pytest.raises(FgcmDbError, match=r"catalog\.fits: cannot tell its visit and detector.*--visit/--detector"):
        run_ingest(db_path, str(renamed), str(src_summary))


def _plain_fits(path, with_flags: bool, with_coords: bool):
    cols = [fits.Column(name="id", format="K", array=np.arange(3))]
    if with_coords:
        cols += [fits.Column(name="coord_ra", format="D", unit="rad", array=np.full(3, 1.0)),
                 fits.Column(name="coord_dec", format="D", unit="rad", array=np.full(3, 0.1))]
    if with_flags:
        cols.insert(0, fits.Column(name="flags", format="8X", array=np.zeros((3, 8), dtype=bool)))
    hdu = fits.BinTableHDU.from_columns(cols)
    if with_flags:
        hdu.header["TFLAG1"] = "base_PixelFlags_flag_edge"
    hdu.writeto(path)
    return path


@pytest.mark.parametrize("with_flags, with_coords, message", [
    (False, True, "not an afw src catalog \\(no packed 'flags' column"),
    (True, False, "not an afw src catalog \\(no coord_ra/coord_dec"),
])
def test_fits_that_is_not_an_afw_catalog_is_refused_naming_the_file(
        db_path, tmp_path, src_fits, src_summary, with_flags, with_coords, message):
    run_ingest(db_path, str(src_fits), str(src_summary))
    before = snapshot(db_path)
    bad = _plain_fits(tmp_path / "src_HSC_i_HSC-I_903986_0_31_x.fits", with_flags, with_coords)
    with pytest.raises(FgcmDbError, match=f"src_HSC_i_HSC-I_903986_0_31_x.fits: {message}"):
        run_ingest(db_path, str(bad), str(src_summary))
    assert snapshot(db_path) == before


def test_afw_catalog_lacking_contract_columns_lists_them(db_path, tmp_path, src_summary):
    bad = _plain_fits(tmp_path / "src_HSC_i_HSC-I_903986_0_31_x.fits", True, True)
    with pytest.raises(FgcmDbError, match=r"missing required column\(s\) x, y, apFlux_12_0_instFlux"):
        run_ingest(db_path, str(bad), str(src_summary))


def test_fast_fits_reader_matches_astropy_on_every_column(src_fits):
    table = read_bintables(src_fits, max_tables=1)[0]
    with fits.open(src_fits) as hdul:
        ref = hdul[1].data
        for name in ref.columns.names:
            if name == "flags":
                assert np.array_equal(table.unpack_bits(name), ref[name])
            else:
                np.testing.assert_array_equal(table.column(name), ref[name], err_msg=name)


def test_truncated_fits_catalog_is_refused_naming_the_file(db_path, tmp_path, src_fits, src_summary):
    cut = tmp_path / SRC_NAME
    cut.write_bytes(src_fits.read_bytes()[:200_000])
    with pytest.raises(FgcmDbError, match=f"{SRC_NAME}: binary table data is shorter than its header says"):
        run_ingest(db_path, str(cut), str(src_summary))
