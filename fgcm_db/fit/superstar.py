"""Superstar flat: a gray term per (epoch, physical filter, detector) (FGCM_ALGORITHM.md 3.5).

The constant per detector (its value at the detector centre; the sub-detector shape is
fgcm_db.fit.subccd, estimated in the same iteration by the engine). The estimate is
the applied superstar plus the weighted mean EGray of the key's good observations on photometric
visits, after a per-key MAD clip; keys with fewer than 3 observations keep the applied value.

With the CCD chromaticity fitted, :func:`superstar_chromaticity_update` solves each detector's gray
offset and passband shift together: the two are strongly correlated within a detector (its stars span
a limited range of SED slopes), which the global optimiser resolves only slowly, over several cycles.
"""

from __future__ import annotations

import numpy as np

from .stats import mad_outliers, weighted_mean


def superstar_update(key: np.ndarray, n_keys: int, egray: np.ndarray, egray_var: np.ndarray,
                     applied: np.ndarray, sigma_clip: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """New total superstar per key.

    Parameters
    ----------
    key : (epoch, filter, detector) index per observation; egray, egray_var : mag, mag^2;
    applied : superstar in force per key, mag; sigma_clip : MAD clip, sigma units.

    Returns
    -------
    superstar, err (mag), n (observations used), outlier (bool per observation).
    """
    outlier = mad_outliers(key, egray, n_keys, sigma_clip)
    keep = ~outlier
    mean, err, _, n = weighted_mean(key[keep], egray[keep], 1.0 / egray_var[keep], n_keys)
    ok = n >= 3
    new = applied.copy()
    new[ok] = applied[ok] + mean[ok]
    return new, np.where(ok, err, np.nan), n, outlier


def superstar_chromaticity_update(key: np.ndarray, n_keys: int, egray: np.ndarray, egray_var: np.ndarray,
                                  response: np.ndarray, shift: np.ndarray, prior_nm: float, sigma_clip: float
                                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Increments of the superstar (mag) and of the CCD chromaticity (nm) per key, jointly.

    Per key, the weighted least squares ``EGray ~ a + response * b`` (observations after a MAD clip of
    EGray), with the Gaussian prior of the chromaticity, ``(shift + b)^2 / prior_nm^2``, added to the
    chi-square (as in the fit).

    Parameters
    ----------
    key : per observation, the key (one detector of one filter, or of one epoch and filter);
    egray, egray_var : mag, mag^2; response : d m_std / d shift per observation, mag/nm;
    shift : the chromaticity in force per key, nm; prior_nm : prior width (0 = none); sigma_clip : sigma.

    Returns
    -------
    a (mag), b (nm), err of a (mag), n (observations used), outlier (bool per observation); keys with
    fewer than 3 observations get a = b = 0.
    """
    outlier = mad_outliers(key, egray, n_keys, sigma_clip)
    k, eg, x = key[~outlier], egray[~outlier], response[~outlier]
    w = 1.0 / egray_var[~outlier]
    s0, s1, s2 = (np.bincount(k, w * x ** p, minlength=n_keys) for p in range(3))
    t0 = np.bincount(k, w * eg, minlength=n_keys)
    t1 = np.bincount(k, w * x * eg, minlength=n_keys)
    n = np.bincount(k, minlength=n_keys)
    ridge = 1.0 / prior_nm ** 2 if prior_nm > 0 else 0.0
    s2r = s2 + ridge
    det = s0 * s2r - s1 * s1
    ok = (n >= 3) & (det > 1e-12 * np.maximum(s0 * s2r, 1e-300))
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(ok, (s2r * t0 - s1 * (t1 - ridge * shift)) / det, 0.0)
        b = np.where(ok, (s0 * (t1 - ridge * shift) - s1 * t0) / det, 0.0)
        err = np.where(ok, np.sqrt(s2r / det), np.nan)
    return a, b, err, n, outlier
