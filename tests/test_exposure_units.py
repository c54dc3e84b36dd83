"""Unit checks of calibrate-exposure's pieces: the TAN-SIP fitter, the zero-point estimator, the vote,
the configuration, and two checks against a REAL HSC single-visit source catalog (lsst/faro test data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fgcm_db.astro import angular_separation_deg
from fgcm_db.config import load_config
from fgcm_db.configs.exposure import AstrometryConfig, PhotocalConfig
from fgcm_db.errors import FgcmDbError
from fgcm_db.exposure.astrometry import offset_vote
from fgcm_db.exposure.errors import PhotoCalError
from fgcm_db.exposure.io import RefCatalog
from fgcm_db.exposure.photocal import calibrate_photometry, zero_point
from fgcm_db.exposure.simulate import SimConfig, _true_wcs
from fgcm_db.exposure.wcsfit import fit_tan_sip

FARO_SRC = "catalogs/faro_hsc/src_HSC_i_HSC-I_903986_0_31_HSC_runs_ci_hsc_20210407T021858Z.fits"


# -- TAN-SIP fitter -----------------------------------------------------------------------------
def test_noise_free_sip3_wcs_is_recovered_to_micro_arcsec_with_a_complete_inverse():
    true = _true_wcs(SimConfig())
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 2047, 300), rng.uniform(0, 2047, 300)
    ra, dec = true.pixel_to_sky(x, y)
    fit = fit_tan_sip(x, y, ra, dec, (2048, 2048), 3, (150.01, 2.01))
    gx, gy = np.meshgrid(np.linspace(0, 2047, 20), np.linspace(0, 2047, 20))
    sep = angular_separation_deg(*fit.pixel_to_sky(gx.ravel(), gy.ravel()),
                                 *true.pixel_to_sky(gx.ravel(), gy.ravel())) * 3.6e9
    assert sep.max() < 1.0  # micro-arcsec
    assert fit.inverse_max_err_pix < 0.01 and all(v != 0 for v in fit.ap.values())
    bx, by = fit.sky_to_pixel(*fit.pixel_to_sky(gx.ravel(), gy.ravel()))
    assert np.max(np.hypot(bx - gx.ravel(), by - gy.ravel())) < 1e-4


def test_tan_fit_writes_no_sip_keywords():
    true = _true_wcs(SimConfig(max_distortion_pix=0.0))
    x, y = np.array([0.0, 2047, 0, 2047, 1000]), np.array([0.0, 0, 2047, 2047, 1000])
    header = fit_tan_sip(x, y, *true.pixel_to_sky(x, y), (2048, 2048), 1, (150.0, 2.0)).to_header()
    assert header["CTYPE1"] == "RA---TAN" and "A_ORDER" not in header and "AP_ORDER" not in header
    assert header["CRPIX1"] == pytest.approx(1024.5)  # chip centre (1023.5, 0-based) + 1


def test_order3_fit_reproduces_the_lsst_coordinates_of_a_real_hsc_catalog(shared_data):
    from astropy.io import fits

    t = fits.open(shared_data / FARO_SRC)[1].data
    x, y = t["base_SdssCentroid_x"], t["base_SdssCentroid_y"]
    ra, dec = np.degrees(t["coord_ra"]), np.degrees(t["coord_dec"])
    fit = fit_tan_sip(x, y, ra, dec, (4176, 2048), 3, (float(ra.mean()), float(dec.mean())))
    sep = angular_separation_deg(*fit.pixel_to_sky(x, y), ra, dec) * 3.6e6
    assert sep.max() < 0.01  # mas: the LSST WCS of this calexp is TAN-SIP of order 3, like ours
    tan = fit_tan_sip(x, y, ra, dec, (4176, 2048), 1, (float(ra.mean()), float(dec.mean())))
    assert (angular_separation_deg(*tan.pixel_to_sky(x, y), ra, dec) * 3.6e6).max() > 1000  # distortion is real


# -- zero-point ---------------------------------------------------------------------------------
def test_zero_point_is_the_weighted_mean_of_the_clipped_stars_with_formal_error_and_scatter():
    rng = np.random.default_rng(3)
    err = rng.uniform(0.01, 0.05, 400)
    dmag = 27.0 + rng.normal(0, err)
    dmag[:40] += rng.choice([-1.0, 1.0], 40)  # 10% gross outliers
    zp = zero_point(dmag, err, PhotocalConfig())
    assert abs(zp.zp - 27.0) < 0.004 and not zp.used[:40].any()
    w = 1 / err[zp.used] ** 2
    assert zp.err == pytest.approx(np.sqrt(1 / w.sum()))
    assert zp.zp == pytest.approx(np.sum(w * dmag[zp.used]) / w.sum())
    assert 0.02 < zp.scatter < 0.04 and zp.n == zp.used.sum() >= 340


def test_zero_point_without_finite_input_is_an_error():
    with pytest.raises(PhotoCalError, match="no finite"):
        zero_point(np.array([np.nan, np.nan]), np.array([0.01, 0.01]), PhotocalConfig())


def test_reserved_stars_are_held_out_reproducibly(shared_data):
    x, y, flux, err, usable, refs, wcs = _faro_inputs(shared_data)
    cfg = PhotocalConfig(reserve_fraction=0.3)
    a = calibrate_photometry(x, y, flux, err, usable, refs, wcs, 0.168, "i", cfg, None, 903986031)
    b = calibrate_photometry(x, y, flux, err, usable, refs, wcs, 0.168, "i", cfg, None, 903986031)
    assert 0.15 < a.reserved.mean() < 0.45 and np.array_equal(a.reserved, b.reserved)
    assert not np.any(a.used & a.reserved)


def _faro_inputs(shared_data: Path):
    """Sources of the real HSC visit 903986 detector 31 and references built from the pipeline's own
    calibrated PSF fluxes (instFlux x base_LocalPhotoCalib, nJy)."""
    from astropy.io import fits

    hdu = fits.open(shared_data / FARO_SRC)[1]
    t = hdu.data
    names = [hdu.header[k] for k in hdu.header if k.startswith("TFLAG")]

    def flag(name):
        return t["flags"][:, names.index(name)]

    x, y = t["base_SdssCentroid_x"], t["base_SdssCentroid_y"]
    ra, dec = np.degrees(t["coord_ra"]), np.degrees(t["coord_dec"])
    wcs = fit_tan_sip(x, y, ra, dec, (4176, 2048), 3, (float(ra.mean()), float(dec.mean())))
    usable = (~flag("base_PixelFlags_flag_saturatedCenter") & ~flag("base_PixelFlags_flag_edge")
              & ~flag("base_PixelFlags_flag_interpolatedCenter") & ~flag("base_CircularApertureFlux_12_0_flag")
              & (t["base_ClassificationExtendedness_value"] < 0.5) & (t["deblend_nChild"] == 0))
    with np.errstate(all="ignore"):
        mag = 31.4 - 2.5 * np.log10(t["base_PsfFlux_instFlux"] * t["base_LocalPhotoCalib"])
    ok = np.isfinite(mag)
    refs = RefCatalog(path=Path("faro"), sha256="", ref_id=np.flatnonzero(ok), ra=ra[ok], dec=dec[ok], mag=mag[ok],
                      mag_err=np.full(ok.sum(), 0.01), mags={}, n_total=int(ok.sum()))
    return (x, y, t["base_CircularApertureFlux_12_0_instFlux"], t["base_CircularApertureFlux_12_0_instFluxErr"],
            usable, refs, wcs)


def test_real_hsc_catalog_zero_point_agrees_with_the_lsst_calibration(shared_data):
    """Our 12-px zero-point from the pipeline's calibrated PSF fluxes equals LSST's photoCalib
    (31.4 - 2.5 log10 base_LocalPhotoCalib = 31.6928) to 10 mmag (measured: +3.2 mmag, 83 stars)."""
    from astropy.io import fits

    x, y, flux, err, usable, refs, wcs = _faro_inputs(shared_data)
    truth = 31.4 - 2.5 * np.log10(np.median(fits.open(shared_data / FARO_SRC)[1].data["base_LocalPhotoCalib"]))
    res = calibrate_photometry(x, y, flux, err, usable, refs, wcs, 0.168, "i", PhotocalConfig(), None, 1)
    assert abs(res.zp.zp - truth) < 0.010
    assert res.zp.n >= 50 and res.zp.scatter < 0.03


# -- matcher ------------------------------------------------------------------------------------
def test_vote_finds_rotation_and_shift_and_rejects_unrelated_points():
    rng = np.random.default_rng(4)
    rx, ry = rng.uniform(0, 2048, 300), rng.uniform(0, 2048, 300)
    t = np.radians(0.6)
    c = 1023.5
    sx = c + np.cos(t) * (rx - c) - np.sin(t) * (ry - c) + 120.0
    sy = c + np.sin(t) * (rx - c) + np.cos(t) * (ry - c) - 80.0
    cfg = AstrometryConfig()
    best = offset_vote(sx[:150], sy[:150], rx, ry, (c, c), cfg)
    assert best["theta"] == pytest.approx(0.6, abs=0.11)  # the grid step is 0.1 deg
    assert best["dx"] == pytest.approx(120.0, abs=3) and best["dy"] == pytest.approx(-80.0, abs=3)
    assert best["significance"] > 20
    noise = offset_vote(rng.uniform(0, 2048, 150), rng.uniform(0, 2048, 150), rx, ry, (c, c), cfg)
    assert noise["significance"] < cfg.min_vote_significance


# -- configuration ------------------------------------------------------------------------------
def test_exposure_config_overrides_and_validation(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[exposure.astrometry]\nsip_order = 2\nmax_offset_pix = 100\n"
                    "[exposure.color_terms.r]\nprimary = \"r\"\nsecondary = \"i\"\nc1 = 0.02\n")
    cfg = load_config(path).exposure
    assert cfg.astrometry.sip_order == 2 and cfg.color_terms["r"].c1 == 0.02
    path.write_text("[exposure.astrometry]\nsip_order = 9\n")
    with pytest.raises(FgcmDbError, match="sip_order"):
        load_config(path)
    path.write_text("[exposure.photocal]\nreserve_fraction = 1.0\n")
    with pytest.raises(FgcmDbError, match="reserve_fraction"):
        load_config(path)


def test_reference_proper_motions_are_applied_to_the_exposure_epoch(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fgcm_db.exposure.io import read_refcat

    path = tmp_path / "pm.parquet"
    pq.write_table(pa.table({"ra": [150.0, 150.01], "dec": [2.0, 2.0], "r_mag": [18.0, 19.0],
                             "pm_ra": [100.0, 0.0], "pm_dec": [-50.0, 0.0], "epoch": [2016.0, 2016.0]}), path)
    mjd_2026 = 51544.5 + 26 * 365.25  # 2026.0
    refs = read_refcat(path, "r", 150.0, 2.0, 0.1, mjd=mjd_2026)
    assert (refs.dec[0] - 2.0) * 3.6e6 == pytest.approx(-500.0, rel=1e-6)
    assert (refs.ra[0] - 150.0) * np.cos(np.radians(refs.dec[0])) * 3.6e6 == pytest.approx(1000.0, rel=1e-6)
    assert refs.ra[1] == 150.01 and refs.mag.tolist() == [18.0, 19.0]
