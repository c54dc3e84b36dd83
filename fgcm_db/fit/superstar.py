"""Superstar flat: a gray term per (epoch, physical filter, detector) (FGCM_ALGORITHM.md 3.5).

Constant per detector (the sub-detector Chebyshev of the reference is not implemented). The estimate is
the applied superstar plus the weighted mean EGray of the key's good observations on photometric
visits, after a per-key MAD clip; keys with fewer than 3 observations keep the applied value.
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
