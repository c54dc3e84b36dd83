"""CCD gray, EXP gray, the photometric selection of visits and the automatic cuts (FGCM_ALGORITHM.md 5).

Residuals are ``EGray = <m_std> - m_std`` (negative: observation fainter than the star's mean, e.g.
clouds) with variance ``sigma_i^2 - sigma_<m>^2``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import flags as F
from .stats import gaussian_fit, weighted_mean


@dataclasses.dataclass
class CcdGray:
    """Per (visit, detector) pair: gray, err, rms (mag), n_stars, tilings, delta_chrom (mag), good."""

    gray: np.ndarray
    err: np.ndarray
    rms: np.ndarray
    n_stars: np.ndarray
    tilings: np.ndarray
    delta_chrom: np.ndarray
    good: np.ndarray


@dataclasses.dataclass
class ExpGray:
    """Per visit: gray, err, rms (mag; NaN when too few good detectors), n_good_ccds, n_good_stars."""

    gray: np.ndarray
    err: np.ndarray
    rms: np.ndarray
    n_good_ccds: np.ndarray
    n_good_stars: np.ndarray


def ccd_gray(pair: np.ndarray, n_pairs: int, egray: np.ndarray, egray_var: np.ndarray, tilings: np.ndarray,
             delta_chrom: np.ndarray, min_star_per_ccd: int, max_ccd_gray_err: float) -> CcdGray:
    """Weighted mean EGray per pair over the selected observations (the caller selects them).

    Parameters
    ----------
    pair : pair index per observation; egray, egray_var : mag, mag^2; tilings : good observations of
    the observation's star in its band; delta_chrom : chromatic correction per observation, mag.
    """
    w = 1.0 / egray_var
    gray, err, rms, n = weighted_mean(pair, egray, w, n_pairs)
    few = n < 3
    gray[few] = err[few] = rms[few] = np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        til = np.bincount(pair, tilings, minlength=n_pairs) / np.maximum(n, 1)
        dchrom = np.bincount(pair, w * delta_chrom, minlength=n_pairs) / np.bincount(pair, w, minlength=n_pairs)
    good = (n >= min_star_per_ccd) & (err > 0) & (err <= max_ccd_gray_err)
    return CcdGray(gray, err, rms, n, np.where(n > 0, til, np.nan), dchrom, good & np.isfinite(gray))


def exp_gray(pair_visit: np.ndarray, n_visits: int, ccd: CcdGray, n_detectors: int) -> ExpGray:
    """Weighted mean of the good detectors' grays per visit (>= 3 good detectors; >= 1 for small cameras)."""
    good = ccd.good
    v = pair_visit[good]
    gray, err, rms, n_ccd = weighted_mean(v, ccd.gray[good], 1.0 / ccd.err[good] ** 2, n_visits)
    n_stars = np.bincount(v, ccd.n_stars[good], minlength=n_visits).astype(np.int64)
    need = 3 if n_detectors >= 3 else 1
    bad = n_ccd < need
    gray[bad] = err[bad] = rms[bad] = np.nan
    return ExpGray(gray, err, rms, n_ccd, n_stars)


def select_exposures(exp: ExpGray, n_stars_any: np.ndarray, low_cut: np.ndarray, high_cut: np.ndarray,
                     var_cut: np.ndarray, min_star_per_exp: int) -> np.ndarray:
    """Exposure flags from the gray statistics (FGCM_ALGORITHM.md 5.5), before the night rule.

    Parameters
    ----------
    n_stars_any : calibration stars observed per visit (0 gives NO_STARS).
    low_cut, high_cut, var_cut : per visit (from its band), mag, mag, mag^2.
    """
    flag = np.zeros(len(exp.gray), dtype=np.int64)
    flag[n_stars_any == 0] |= F.EXP_NO_STARS
    has = n_stars_any > 0
    flag[has & ((exp.n_good_stars < min_star_per_exp) | ~np.isfinite(exp.gray))] |= F.EXP_TOO_FEW_STARS
    with np.errstate(invalid="ignore"):
        flag[has & (exp.gray < low_cut)] |= F.EXP_GRAY_TOO_NEGATIVE
        flag[has & (exp.gray > high_cut)] |= F.EXP_GRAY_TOO_POSITIVE
        flag[has & (exp.rms ** 2 > var_cut)] |= F.EXP_VAR_GRAY_TOO_LARGE
    return flag


def night_gray_offset(gray: np.ndarray, visit_night: np.ndarray, visit_band: np.ndarray, n_nights: int,
                      n_bands: int, high_cut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per visit, the gray its photometric cut is measured from (mag), and whether its night shows
    clouds in two or more bands (bool).

    The offset is the brightest exposure gray of the visit's (night, band) when that one is above the
    high cut; else, when at least two other bands of the night have such a too-positive visit, the
    smallest of their brightest grays; else 0.

    Clouds only make stars fainter, so on a night whose fitted atmosphere is right the clear visits
    sit at gray ~0 and cloudy ones below. A visit brighter than its stars' means by more than the high
    cut means that clouds pulled the night's model too opaque: the visits the model absorbed then sit
    at ~0 and the clear one above; measuring the others from the brightest catches them. Clouds are
    gray, so a model made too opaque by them is too opaque in every band: when two or more bands agree
    (one band alone may be a chromatic error, e.g. water vapour in z), a band with no clear visit that
    night is measured from their smallest offset, and the too-positive visits themselves are the
    night's clear reference (the caller keeps them photometric, so that the next fit, without the
    absorbed clouds, brings the model back to them). A single band's too-positive visit keeps its
    flag. (An addition to the reference, which only flags the too-positive visit.)
    """
    key = visit_night * n_bands + visit_band
    best = np.full(n_nights * n_bands, -np.inf)
    ok = np.isfinite(gray)
    np.maximum.at(best, key[ok], gray[ok])
    brightest = best[key]
    too_positive = np.isfinite(brightest) & (brightest > high_cut)
    band_offset = np.full(n_nights * n_bands, np.inf)
    band_offset[key[too_positive]] = brightest[too_positive]
    band_offset = band_offset.reshape(n_nights, n_bands)
    clouded_night = np.isfinite(band_offset).sum(axis=1) >= 2
    night_offset = np.where(clouded_night, band_offset.min(axis=1), 0.0)
    return np.where(too_positive, brightest, night_offset[visit_night]), clouded_night[visit_night]


def auto_var_cut(rms: np.ndarray, old: float, nsig: float, only_tighten: bool) -> float:
    """Next cycle's exposure-gray variance cut (mag^2) for one band from the focal-plane rms of its
    photometric visits: (median + nsig x 1.4826 MAD)^2, at least (2 mmag)^2 and a quarter of the old cut.

    A cloud's patchiness shows as a larger spread of the detector grays than the clear visits'
    measurement noise; this is an addition to the reference (whose variance cut is fixed).
    """
    rms = rms[np.isfinite(rms)]
    if len(rms) < 5:
        return old
    med = float(np.median(rms))
    sig = 1.4826 * float(np.median(np.abs(rms - med)))
    new = max((med + nsig * sig) ** 2, 0.002 ** 2, old / 4.0)
    return min(new, old) if only_tighten else new


def calibratable_nights(flag: np.ndarray, visit_night: np.ndarray, visit_fit_band: np.ndarray, n_nights: int,
                        min_exp_per_night: int) -> tuple[np.ndarray, np.ndarray]:
    """Flag every visit of nights with too few photometric fit-band visits; returns (flag, night_ok)."""
    n_phot = np.bincount(visit_night, (flag == 0) & visit_fit_band, minlength=n_nights)
    night_ok = n_phot >= min_exp_per_night
    out = flag.copy()
    out[~night_ok[visit_night]] |= F.EXP_TOO_FEW_EXP_ON_NIGHT
    return out, night_ok


def auto_cuts(gray: np.ndarray, old_low: float, old_high: float, nsig_low: float, nsig_high: float, step: float,
              only_tighten: bool, repeatability: float | None = None) -> tuple[float, float]:
    """Next cycle's (low, high) exposure-gray cuts for one band (FGCM_ALGORITHM.md 5.6).

    ``gray``: exposure grays of photometric visits with enough stars. With ``repeatability`` the width
    is the reserved stars' repeatability and the centre 0. Rounded outward to ``step``; the low cut is
    limited to [2 x old, -0.005], the high cut to [0.005, 2 x old]; with ``only_tighten`` neither may
    loosen (FGCM_LESSONS.md 1).
    """
    if repeatability is not None and np.isfinite(repeatability):
        mu, sigma = 0.0, max(repeatability, 0.001)
    else:
        mu, sigma = gaussian_fit(gray)
    if not np.isfinite(sigma):
        return old_low, old_high
    low = max(2.0 * old_low, min(-np.ceil((nsig_low * sigma - mu) / step) * step, -0.005))
    high = max(0.005, min(np.ceil((nsig_high * sigma + mu) / step) * step, 2.0 * old_high))
    if only_tighten:
        low, high = max(low, old_low), min(high, old_high)
    return float(low), float(high)
