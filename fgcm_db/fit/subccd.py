"""Sub-detector superstar flat: a 2-D Chebyshev polynomial in mag per (epoch, filter, detector).

FGCM_ALGORITHM.md 3.5. The coordinates are the detector's normalised pixel coordinates
``u = (x + 0.5 - W/2) / (W/2)``, ``v = (y + 0.5 - H/2) / (H/2)`` (W, H the detector size in pixels), so
the outer pixel edges map to -1 and 1 and the centre to 0. The coefficients of order ``n`` sit in a
row-major (n+1)^2 grid, row = y order, column = x order: ``S(u, v) = sum_{j,i} c[j (n+1) + i] T_i(u) T_j(v)``,
the layout of ``photo_calib.cheb_coeffs`` (fgcm_db.products). The "triangular" option fits only the
terms with i + j <= n (the others stay 0).

Differences from the reference: the polynomial describes the superstar in magnitudes (added to the
instrumental magnitudes like the constant superstar), fitted by weighted linear least squares of
EGray, where the reference fits a flux multiplier by non-linear least squares; for the few-mmag
illumination terms the two agree to < 1e-5 mag. Like the reference, a key needs >= 10 observations per
fitted coefficient, otherwise it keeps its shape.

The fit splits the polynomial into its value at the detector centre (the constant superstar, fitted
with the atmosphere and used in the zero-points) and its ``shape``, the polynomial minus that value,
which this module estimates and which the next cycle applies per observation at its (u, v).
"""

from __future__ import annotations

import numpy as np

from .stats import mad_outliers, normal_equations

#: observations per fitted coefficient a key needs for its shape (FGCM_ALGORITHM.md 3.5)
MIN_OBS_PER_COEFF = 10
#: observations per block in :func:`evaluate` and :func:`fit_shape`: bounds their (n, (order+1)^2)
#: basis temporaries (8 MB per coefficient) instead of materialising them for every observation
EVALUATE_BLOCK = 1 << 20


def n_coeffs(order: int) -> int:
    """(order + 1)^2, the length of a coefficient vector."""
    return (order + 1) ** 2


def term_mask(order: int, triangular: bool) -> np.ndarray:
    """Bool per coefficient (row-major, row = y order): the term is fitted."""
    j, i = np.divmod(np.arange(n_coeffs(order)), order + 1)
    return (i + j <= order) if triangular else np.ones(n_coeffs(order), dtype=bool)


def basis(u: np.ndarray, v: np.ndarray, order: int) -> np.ndarray:
    """(n, (order+1)^2) values of T_i(u) T_j(v) in the row-major layout (float64)."""
    eye = np.eye(order + 1)
    tu = np.stack([np.polynomial.chebyshev.chebval(u, eye[i]) for i in range(order + 1)], axis=1)
    tv = np.stack([np.polynomial.chebyshev.chebval(v, eye[j]) for j in range(order + 1)], axis=1)
    return (tv[:, :, None] * tu[:, None, :]).reshape(len(u), -1)


def centre_values(order: int) -> np.ndarray:
    """T_i(0) T_j(0) per coefficient: ``coeffs @ centre_values`` is the polynomial at the centre."""
    return basis(np.zeros(1), np.zeros(1), order)[0]


def remove_centre(coeffs: np.ndarray, order: int) -> np.ndarray:
    """The shape: coefficients (..., ncoef) with their value at the centre removed (through c[0])."""
    out = np.array(coeffs, dtype=np.float64, copy=True)
    out[..., 0] -= out @ centre_values(order)
    return out


def observation_basis(uv: np.ndarray, order: int) -> np.ndarray:
    """(n, (order+1)^2) basis values at each observation's (u, v), 0 where the position is unknown."""
    known = np.isfinite(uv).all(axis=1)
    u = np.where(known, uv[:, 0], 0.0).astype(np.float64)
    v = np.where(known, uv[:, 1], 0.0).astype(np.float64)
    return basis(u, v, order) * known[:, None]


def evaluate(coeffs: np.ndarray, key: np.ndarray, uv: np.ndarray | None, order: int) -> np.ndarray:
    """S per observation (mag) from ``coeffs`` (n_keys, ncoef) at its key and (u, v); 0 where the
    position is unknown (NaN) or there are no positions. Evaluated in blocks of ``EVALUATE_BLOCK``
    observations (each row's sum is the same in any block)."""
    if uv is None or order == 0:
        return np.zeros(len(key))
    out = np.empty(len(key))
    for start in range(0, len(key), EVALUATE_BLOCK):
        block = slice(start, start + EVALUATE_BLOCK)
        out[block] = np.einsum("ij,ij->i", observation_basis(uv[block], order), coeffs[key[block]])
    return out


def fit_shape(key: np.ndarray, n_keys: int, uv: np.ndarray, resid: np.ndarray, var: np.ndarray, order: int,
              triangular: bool, sigma_clip: float,
              outlier: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shape increment per key from residuals (mag) at positions ``uv``.

    Per key, after a MAD clip of ``resid`` (``sigma_clip`` in sigma units), the weighted (1/var) linear
    least squares of ``resid ~ S(u, v)`` over the fitted terms; the result's value at the centre is
    removed (it belongs to the constant superstar).

    Parameters
    ----------
    key : per observation, index of its (epoch, filter, detector); uv : (n, 2) normalised coordinates
    (rows with NaN are left out); resid, var : mag, mag^2; order, triangular : the polynomial;
    outlier : the clip's result when already known (bool per observation; the superstar's clip of the
    same residuals up to a constant per key is the same clip), else None to clip here.

    Returns
    -------
    shape (n_keys, ncoef) mag, fitted (bool per key: enough observations and a regular system),
    outlier (bool per observation).
    """
    nc = n_coeffs(order)
    mask = term_mask(order, triangular)
    known = np.isfinite(uv).all(axis=1) & np.isfinite(resid) & (var > 0)
    if outlier is None:
        outlier = np.zeros(len(key), dtype=bool)
        idx = np.flatnonzero(known)
        outlier[idx[mad_outliers(key[idx], resid[idx], n_keys, sigma_clip)]] = True
    idx = np.flatnonzero(known & ~outlier)
    m = int(mask.sum())
    normal = np.zeros((n_keys, m, m))
    rhs = np.zeros((n_keys, m))
    count = np.zeros(n_keys, dtype=np.int64)
    # the normal equations summed over blocks of observations (the basis of one block at a time)
    for start in range(0, len(idx), EVALUATE_BLOCK):
        block = idx[start:start + EVALUATE_BLOCK]
        k, w, r = key[block], 1.0 / var[block], resid[block]
        b = basis(uv[block, 0].astype(np.float64), uv[block, 1].astype(np.float64), order)
        if not mask.all():
            b = b[:, mask]
        block_normal, block_rhs = normal_equations(k, n_keys, b, w, r)
        normal += block_normal
        rhs += block_rhs
        count += np.bincount(k, minlength=n_keys)
    scale = np.sqrt(np.maximum(np.einsum("kii->ki", normal), 1e-300))
    unit = normal / scale[:, :, None] / scale[:, None, :]
    cond_ok = np.linalg.cond(unit) < 1e8 if n_keys else np.zeros(0, dtype=bool)
    fitted = (count >= MIN_OBS_PER_COEFF * m) & cond_ok
    sol = np.zeros((n_keys, m))
    if fitted.any():
        sol[fitted] = np.linalg.solve(unit[fitted], (rhs / scale)[fitted][:, :, None])[:, :, 0] / scale[fitted]
    full = np.zeros((n_keys, nc))
    full[:, mask] = sol
    return remove_centre(full, order), fitted, outlier
