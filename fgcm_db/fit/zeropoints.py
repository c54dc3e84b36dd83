"""Zero-points per (visit, detector) with flags and errors (FGCM_ALGORITHM.md 5.8, 6.5, 8.1).

``zp = 2.5 log10 I0 + superstar + QE_sys + FilterOffset + aper_corr + 2.5 log10 exptime + ZP_AB + gray``,
I0 at the detector centre's sec z with the visit's fitted atmosphere. ``gray`` is the detector gray
when good, else the exposure gray of a well-measured visit ("recovered"), else no zero-point.
Visits of nights without an atmosphere fit (flag 8) are calibrated the same way: the reference
computes them only where the detector has its own good gray, but the exposure gray of a visit with
enough good detectors and a small focal-plane rms holds the standard atmosphere's error as well as it
holds a cloud's, so a detector with too few stars there is recovered like one on a fitted night.
FGCM_ALGORITHM.md 15.7 notes that the reference adds the detector gray even on photometric visits, where
a detector gray from its ~10-20 stars adds 2-3 mmag of noise that the exposure gray (hundreds of
stars) does not. Here (``photometric_zeropoint_gray``) a photometric visit's detectors take the
exposure gray ("exposure"), or by default ("blend") the exposure gray plus each good detector's
departure from it shrunk by ``var / (var + err^2)``, the best linear predictor of the detector's own
gray given the band's spread of true departures (:func:`detector_departure_variance`).
``photometric`` is reported separately from the flag bits.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import flags as F
from .model import MC
from .stats import weighted_mean


@dataclasses.dataclass
class ZeroPoints:
    """Arrays of shape (n_visits, n_detectors); NaN where undefined."""

    flag: np.ndarray
    zp: np.ndarray
    zp_err: np.ndarray
    i0: np.ndarray
    i10: np.ndarray
    gray: np.ndarray
    gray_var: np.ndarray
    tilings: np.ndarray
    fp_gray: np.ndarray
    fp_gray_var: np.ndarray
    delta_chrom: np.ndarray


def zeropoint_flags(exp_flag: np.ndarray, fit_band: np.ndarray) -> np.ndarray:
    """Base zero-point flag per visit from its exposure flag."""
    out = np.where(exp_flag == 0, np.where(fit_band, F.ZP_PHOTOMETRIC_FIT, F.ZP_PHOTOMETRIC_NOTFIT), 0)
    nofit = (exp_flag & F.EXP_TOO_FEW_EXP_ON_NIGHT) != 0
    out = np.where((exp_flag != 0) & ~nofit, F.ZP_NONPHOTOMETRIC_FIT_NIGHT, out)
    out = np.where(nofit, F.ZP_NOFIT_NIGHT, out)
    cannot = (exp_flag & (F.EXP_NO_STARS | F.EXP_BAND_NOT_IN_LUT)) != 0
    return np.where(cannot, F.ZP_CANNOT_COMPUTE, out).astype(np.int64)


def compose(base_flag: np.ndarray, i0: np.ndarray, i10: np.ndarray, static: np.ndarray,
            ccd_gray: np.ndarray, ccd_err: np.ndarray, ccd_good: np.ndarray, ccd_tilings: np.ndarray,
            ccd_delta_chrom: np.ndarray, exp_gray: np.ndarray, exp_err: np.ndarray, exp_rms: np.ndarray,
            exp_n_good_ccds: np.ndarray, exp_tilings: np.ndarray, recover_ok: np.ndarray,
            sigma_fgcm: np.ndarray, sigma_cal: np.ndarray, min_ccd_per_exp: int,
            exposure_gray_when_photometric: bool = True, exp_surface: np.ndarray | None = None,
            exp_surface_err: np.ndarray | None = None, blend_bands: np.ndarray | None = None) -> ZeroPoints:
    """Zero-points from their components.

    Parameters
    ----------
    base_flag : (V,) from :func:`zeropoint_flags`. i0, i10 : (V, D). static : (V, D) mag, every term
    but 2.5 log10 I0 and the gray. ccd_* : (V, D) detector grays (good: bool). exp_* : (V,) exposure
    gray statistics; recover_ok : (V,) the visit may recover detectors. sigma_fgcm, sigma_cal : (V,) of
    the visit's band, mag. exposure_gray_when_photometric : photometric visits use the exposure gray
    (and its error) on every detector. exp_surface, exp_surface_err : (V, D) the exposure gray as a
    focal-plane surface at each detector centre and its error (fgcm_db.fit.surface), mag; where NaN
    (or not given), the constant exposure gray. blend_bands : (V,) band index of each visit, with
    ``exposure_gray_when_photometric``: a photometric visit's good detector takes the exposure gray plus
    ``k (ccd_gray - exposure gray)``, ``k = var / (var + ccd_err^2)``, with ``var`` the variance of the
    detectors' true departures from the exposure gray in the visit's band
    (:func:`detector_departure_variance`): the best linear predictor of its own gray, error^2
    ``exposure err^2 + k ccd_err^2``. None: the exposure gray alone.
    """
    nd = i0.shape[1]
    level = np.repeat(exp_gray[:, None], nd, axis=1)
    level_err = np.repeat(exp_err[:, None], nd, axis=1)
    if exp_surface is not None:
        on = np.isfinite(exp_surface) & np.isfinite(exp_gray)[:, None]
        level = np.where(on, exp_surface, level)
        level_err = np.where(on, exp_surface_err, level_err)
    flag = np.repeat(base_flag[:, None], nd, axis=1)
    fp_ok = exp_n_good_ccds >= min_ccd_per_exp
    fp_gray = np.where(fp_ok, exp_gray, np.nan)
    fp_var = np.where(fp_ok, exp_rms ** 2, np.nan)
    recover = (recover_ok & fp_ok & np.isfinite(exp_gray))[:, None] & ~ccd_good
    gray = np.where(ccd_good, ccd_gray, np.where(recover, level, np.nan))
    gray_var = np.where(ccd_good, ccd_err ** 2, np.where(recover, (exp_rms ** 2)[:, None], np.nan))
    tilings = np.where(ccd_good, ccd_tilings, np.where(recover, exp_tilings[:, None], np.nan))
    if exposure_gray_when_photometric:
        phot = ((base_flag & (F.ZP_PHOTOMETRIC_FIT | F.ZP_PHOTOMETRIC_NOTFIT)) != 0) & np.isfinite(exp_gray)
        phot_gray, phot_var = level, level_err ** 2
        if blend_bands is not None:
            n_bands = int(blend_bands.max()) + 1 if len(blend_bands) else 0
            detector_var = detector_departure_variance(phot, blend_bands, n_bands, ccd_gray, ccd_err, ccd_good,
                                                       level)[blend_bands]
            with np.errstate(invalid="ignore", divide="ignore"):
                k = np.where(ccd_good, detector_var[:, None] / (detector_var[:, None] + ccd_err ** 2), 0.0)
            k = np.nan_to_num(k)
            phot_gray = level + k * np.where(ccd_good, ccd_gray - level, 0.0)
            phot_var = phot_var + k * np.where(ccd_good, ccd_err ** 2, 0.0)
        gray = np.where(phot[:, None], phot_gray, gray)
        gray_var = np.where(phot[:, None], phot_var, gray_var)
        tilings = np.where(phot[:, None], exp_tilings[:, None], tilings)
    computable = (flag & (F.ZP_PHOTOMETRIC_FIT | F.ZP_PHOTOMETRIC_NOTFIT | F.ZP_NONPHOTOMETRIC_FIT_NIGHT)) != 0
    nofit = (flag & F.ZP_NOFIT_NIGHT) != 0
    ok_i0 = np.isfinite(i0) & (i0 > 0)
    has_gray = np.isfinite(gray)
    flag = np.where(computable & ~(has_gray & ok_i0), flag | F.ZP_TOO_FEW_STARS_ON_CCD, flag)
    flag = np.where(nofit & ~(has_gray & ok_i0), flag | F.ZP_CANNOT_COMPUTE, flag)
    valid = (computable | nofit) & ((flag & (F.ZP_CANNOT_COMPUTE | F.ZP_TOO_FEW_STARS_ON_CCD)) == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        zp = np.where(valid, MC * np.log(i0) + static + gray, np.nan)
        err2 = (sigma_fgcm ** 2)[:, None] / np.maximum(tilings - 1.0, 1.0) + gray_var + (sigma_cal ** 2)[:, None]
    zp_err = np.where(valid, np.sqrt(err2), np.nan)
    return ZeroPoints(flag, zp, zp_err, i0, i10, np.where(valid, gray, np.nan), np.where(valid, gray_var, np.nan),
                      np.where(valid, tilings, np.nan), np.repeat(fp_gray[:, None], nd, axis=1),
                      np.repeat(fp_var[:, None], nd, axis=1), ccd_delta_chrom)


def detector_departure_variance(photometric: np.ndarray, visit_band: np.ndarray, n_bands: int,
                                ccd_gray: np.ndarray, ccd_err: np.ndarray, ccd_good: np.ndarray,
                                level: np.ndarray) -> np.ndarray:
    """Per band, the variance of good detectors' true departures from their visit's exposure gray on
    photometric visits, mag^2: the variance of ``ccd_gray - level`` less the mean ``ccd_err^2`` (its
    measurement part), floored at 0 (an empirical-Bayes prior width).

    Parameters
    ----------
    photometric : (V,) bool. visit_band : (V,). ccd_gray, ccd_err, ccd_good : (V, D) detector grays.
    level : (V, D) the exposure gray at each detector (constant or surface), mag.
    """
    use = photometric[:, None] & ccd_good & np.isfinite(ccd_gray) & np.isfinite(level) & (ccd_err > 0)
    band = np.broadcast_to(visit_band[:, None], use.shape)[use]
    ones = np.ones(int(use.sum()))
    _, _, rms, n = weighted_mean(band, (ccd_gray - level)[use], ones, n_bands)
    noise, _, _, _ = weighted_mean(band, ccd_err[use] ** 2, ones, n_bands)
    return np.where(n >= 2, np.maximum(rms ** 2 - noise, 0.0), 0.0)
