"""sigma_FGCM, the reserved stars' raw repeatability and sigma_cal (FGCM_ALGORITHM.md 6.2-6.3)."""

from __future__ import annotations

import numpy as np

from .stats import gaussian_fit


def repeatability_and_sigma_fgcm(egray: np.ndarray, egray_var: np.ndarray, max_err: float,
                                 max_egray: float) -> tuple[float, float]:
    """(sigma_tot, sigma_FGCM) of one band's selected observations, mag.

    Keeps |EGray| < max_egray, 0 < var < max_err^2 and EGray != 0; sigma_tot is the Gaussian width of
    EGray, sigma_FGCM = sqrt(sigma_tot^2 - median var) (0.001 if the noise exceeds sigma_tot).
    """
    sel = (np.abs(egray) < max_egray) & (egray_var > 0) & (egray_var < max_err ** 2) & (egray != 0)
    if sel.sum() < 3:
        return float("nan"), float("nan")
    _, sigma_tot = gaussian_fit(egray[sel])
    noise = float(np.median(egray_var[sel]))
    sig_fgcm = np.sqrt(sigma_tot ** 2 - noise) if sigma_tot ** 2 > noise else 0.001
    return float(sigma_tot), float(sig_fgcm)


def sigma_cal(star: np.ndarray, resid: np.ndarray, obs_var: np.ndarray, star_mag: np.ndarray,
              sigma_fgcm_term: np.ndarray, cal_range: tuple[float, float],
              percentile: tuple[float, float]) -> float:
    """Systematic floor: the sigma_cal on a 50-point grid whose bright reserved stars have median
    reduced chi2 closest to 1.

    Parameters
    ----------
    star : compact star index per observation (reserved stars, crunched, photometric).
    resid : crunched m_std - <m_std>, mag. obs_var : observation variance without the floor, mag^2.
    star_mag : mean magnitude per star. sigma_fgcm_term : per-observation sigma_FGCM^2/(tilings-1) +
    ccd gray err^2, mag^2.
    """
    n_star = len(star_mag)
    nobs = np.bincount(star, minlength=n_star)
    if n_star == 0 or (nobs >= 2).sum() < 3:
        return float("nan")
    lo, hi = np.quantile(star_mag[nobs >= 2], percentile)
    bright = (nobs >= 2) & (star_mag >= lo) & (star_mag <= hi)
    if bright.sum() < 3:
        return float("nan")
    grid = np.linspace(cal_range[0], cal_range[1], 50)
    best, best_score = float("nan"), np.inf
    for s in grid:
        chi2 = np.bincount(star, resid ** 2 / (obs_var + sigma_fgcm_term + s * s), minlength=n_star)
        red = chi2[bright] / (nobs[bright] - 1)
        red = red[(red > 0.001) & (red < 1000)]
        if len(red) == 0:
            continue
        score = abs(np.log10(np.median(red)))
        if score < best_score:
            best, best_score = float(s), score
    return best
