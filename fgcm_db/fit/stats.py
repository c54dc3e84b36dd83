"""Grouped statistics on arrays (weighted means, medians, MAD clipping) and a Gaussian width fit."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.optimize

#: 1.4826 MAD = sigma for a Gaussian
MAD_TO_SIGMA = 1.4826


def weighted_mean(key: np.ndarray, values: np.ndarray, weights: np.ndarray, n: int):
    """Per-key weighted mean, its formal error, weighted rms and count (NaN where no entries).

    Returns
    -------
    mean, err, rms, count : arrays of length n.
    """
    sw = np.bincount(key, weights, minlength=n)
    swx = np.bincount(key, weights * values, minlength=n)
    swx2 = np.bincount(key, weights * values * values, minlength=n)
    count = np.bincount(key, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(sw > 0, swx / sw, np.nan)
        err = np.where(sw > 0, 1.0 / np.sqrt(sw), np.nan)
        rms = np.sqrt(np.maximum(np.where(sw > 0, swx2 / sw, np.nan) - mean * mean, 0.0))
    return mean, err, rms, count


def normal_equations(key: np.ndarray, n_keys: int, design: np.ndarray, weights: np.ndarray, values: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Per-key weighted least-squares normal equations of ``values ~ design @ coef``: the matrices
    sum_i w_i b_i b_i^T, (n_keys, m, m), and the vectors sum_i w_i b_i y_i, (n_keys, m), for a design of
    m columns (one small loop over column pairs; the observations are summed by bincount)."""
    m = design.shape[1]
    normal = np.empty((n_keys, m, m))
    rhs = np.empty((n_keys, m))
    for a in range(m):
        wb = weights * design[:, a]
        for c in range(a, m):
            normal[:, a, c] = normal[:, c, a] = np.bincount(key, wb * design[:, c], minlength=n_keys)
        rhs[:, a] = np.bincount(key, wb * values, minlength=n_keys)
    return normal, rhs


def group_range(key: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-key lowest and highest value, (low, high) arrays of length n; +inf and -inf where empty."""
    low = np.full(n, np.inf)
    high = np.full(n, -np.inf)
    np.minimum.at(low, key, values)
    np.maximum.at(high, key, values)
    return low, high


def group_median(key: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per-key median (lower-middle element for even counts averaged with the upper one); NaN if empty."""
    out = np.full(n, np.nan)
    if len(values) == 0:
        return out
    order = np.lexsort((values, key))
    k, v = key[order], values[order]
    starts = np.searchsorted(k, np.arange(n), side="left")
    ends = np.searchsorted(k, np.arange(n), side="right")
    cnt = ends - starts
    has = cnt > 0
    lo = starts[has] + (cnt[has] - 1) // 2
    hi = starts[has] + cnt[has] // 2
    out[has] = 0.5 * (v[lo] + v[hi])
    return out


def mad_outliers(key: np.ndarray, values: np.ndarray, n: int, nsig: float) -> np.ndarray:
    """True where |value - median| > nsig * 1.4826 MAD of its key (keys with MAD 0 clip nothing)."""
    med = group_median(key, values, n)
    dev = np.abs(values - med[key])
    mad = group_median(key, dev, n) * MAD_TO_SIGMA
    limit = nsig * mad[key]
    return (dev > limit) & (limit > 0)


def gaussian_fit(x: np.ndarray) -> tuple[float, float]:
    """(mean, sigma) of a Gaussian fitted by least squares to a Freedman-Diaconis histogram of x.

    Falls back to (median, 1.4826 MAD) with fewer than 20 values or when the fit fails, and
    returns (NaN, NaN) for fewer than 3 values (FGCM_ALGORITHM.md 6.2 fits histograms the same way).
    """
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) < 3:
        return float("nan"), float("nan")
    med = float(np.median(x))
    mad = float(np.median(np.abs(x - med))) * MAD_TO_SIGMA
    if len(x) < 20 or mad == 0:
        return med, mad
    edges = np.histogram_bin_edges(x, bins="fd", range=(med - 5 * mad, med + 5 * mad))
    counts, edges = np.histogram(x, bins=edges)
    centres = 0.5 * (edges[1:] + edges[:-1])

    def model(c, a, mu, sig):
        return a * np.exp(-0.5 * ((c - mu) / sig) ** 2)

    try:
        with warnings.catch_warnings():
            # no covariance (as many bins as parameters): the fit only interpolates, so its sigma is
            # not a measurement
            warnings.simplefilter("error", scipy.optimize.OptimizeWarning)
            (a, mu, sig), _ = scipy.optimize.curve_fit(model, centres, counts, p0=(counts.max(), med, mad),
                                                       maxfev=2000)
    except (RuntimeError, scipy.optimize.OptimizeWarning):
        return med, mad
    sig = abs(float(sig))
    if not np.isfinite(sig) or sig <= 0 or sig > 10 * mad:
        return med, mad
    return float(mu), sig
