"""Forward model: passband integrals I0, I10 per observation and the standard magnitude m_std.

For observation i of a star with normalised SED slope F' (FGCM_ALGORITHM.md 1.5)::

    m_std,i = m_const,i + QE_sys(e) + FilterOffset(f) + 2.5 log10 I0_i + delta_std,i
    delta_std,i = 2.5 log10[(1 + F' I10_i) / (1 + F' I10_std,b)]

where m_const holds the instrumental magnitude per second, the AB constant, the superstar flat, the
aperture correction and the (computed, not fitted) QE slope. I0 and I1 depend on the visit's
atmosphere and on the star's own sec z. The look-up table is evaluated once per (visit, detector)
"pair" at a reference sec z (the mean of its stars) and at that sec z + ``SECZ_STEP``; each observation
interpolates linearly in sec z between the two (the LUT is itself linear in sec z between its nodes,
and focal-plane sec z spreads are < 0.05). Derivatives with respect to the atmosphere are central
differences of the same LUT calls, so the gradient is consistent with the value whatever the LUT's
own derivative conventions (FGCM_ALGORITHM.md 15.3).
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

import numpy as np

#: 2.5 / ln 10: d(2.5 log10 x) = MC dx / x
MC = 2.5 / np.log(10.0)
#: atmosphere variables in derivative order (o3 Dobson, alpha, ln PWV, ln tau) and central-difference
#: steps for them
ATM_VARS = ("o3", "alpha", "ln_pwv", "ln_tau")
FD_STEPS = (0.5, 0.005, 0.005, 0.005)
#: sec z step of the per-pair linearisation
SECZ_STEP = 0.01


class Passbands(Protocol):
    """What the fit needs from the look-up table: I0 and I1 at arbitrary points.

    ``integrals(filter_idx, detector_idx, ln_pwv, o3, ln_tau, alpha, secz, pmb) -> (i0, i1)``, arrays of
    one shape: I0 (pressure factor included, dimensionless) and I1 (nm, about the band's standard
    wavelength). An implementation may also offer ``integrals_and_derivatives(...)`` returning
    ``(i0, i1, d_i0, d_i1)`` with d_* of shape (4, n) in ATM_VARS order, exact derivatives of its own
    values; :func:`pair_integrals` then uses them instead of central differences.
    """

    def integrals(self, filter_idx, detector_idx, ln_pwv, o3, ln_tau, alpha, secz, pmb): ...


@dataclasses.dataclass
class PairIntegrals:
    """LUT values per (visit, detector) pair.

    Attributes
    ----------
    i0, i1 : at the reference sec z.  s0, s1 : d/d sec z.
    d_i0, d_i1, d_s0, d_s1 : shape (4, n_pairs), d/dx of the above for x in ATM_VARS (None when not
        requested).
    """

    i0: np.ndarray
    i1: np.ndarray
    s0: np.ndarray
    s1: np.ndarray
    d_i0: np.ndarray | None = None
    d_i1: np.ndarray | None = None
    d_s0: np.ndarray | None = None
    d_s1: np.ndarray | None = None


def pair_integrals(passbands: Passbands, filter_idx: np.ndarray, detector_idx: np.ndarray,
                   secz_ref: np.ndarray, pmb: np.ndarray, atm: tuple[np.ndarray, ...],
                   derivatives: bool = True, steps: tuple[float, ...] = FD_STEPS,
                   secz_step: float = SECZ_STEP) -> PairIntegrals:
    """Evaluate the LUT for every pair in one vectorised call.

    Parameters
    ----------
    atm : (o3, alpha, ln_pwv, ln_tau) per pair.
    derivatives : also the central differences with respect to the four atmosphere variables.
    """
    n = len(secz_ref)
    if derivatives and hasattr(passbands, "integrals_and_derivatives"):
        return _pair_integrals_analytic(passbands, filter_idx, detector_idx, secz_ref, pmb, atm, secz_step)
    variants = [tuple(atm)]
    if derivatives:
        for sign in (1.0, -1.0):
            for k, h in enumerate(steps):
                shifted = list(atm)
                shifted[k] = atm[k] + sign * h
                variants.append(tuple(shifted))
    nv = len(variants)
    cols = [np.concatenate([v[k] for v in variants] * 2) for k in range(4)]
    secz = np.concatenate([np.tile(secz_ref, nv), np.tile(secz_ref + secz_step, nv)])
    fi = np.tile(filter_idx, 2 * nv)
    di = np.tile(detector_idx, 2 * nv)
    pm = np.tile(pmb, 2 * nv)
    i0, i1 = passbands.integrals(fi, di, cols[2], cols[0], cols[3], cols[1], secz, pm)
    i0 = np.asarray(i0, dtype=np.float64).reshape(2, nv, n)
    i1 = np.asarray(i1, dtype=np.float64).reshape(2, nv, n)
    s0 = (i0[1] - i0[0]) / secz_step
    s1 = (i1[1] - i1[0]) / secz_step
    out = PairIntegrals(i0=i0[0, 0], i1=i1[0, 0], s0=s0[0], s1=s1[0])
    if derivatives:
        h2 = 2.0 * np.asarray(steps)[:, None]
        up, dn = slice(1, 5), slice(5, 9)
        out.d_i0 = (i0[0, up] - i0[0, dn]) / h2
        out.d_i1 = (i1[0, up] - i1[0, dn]) / h2
        out.d_s0 = (s0[up] - s0[dn]) / h2
        out.d_s1 = (s1[up] - s1[dn]) / h2
    return out


def _pair_integrals_analytic(passbands, filter_idx, detector_idx, secz_ref, pmb, atm, secz_step) -> PairIntegrals:
    """PairIntegrals from a LUT that gives its own consistent derivatives (two calls: s and s + step)."""
    twice = [np.concatenate([a, a]) for a in atm]
    secz = np.concatenate([secz_ref, secz_ref + secz_step])
    i0, i1, d0, d1 = passbands.integrals_and_derivatives(
        np.tile(filter_idx, 2), np.tile(detector_idx, 2), twice[2], twice[0], twice[3], twice[1], secz,
        np.tile(pmb, 2))
    n = len(secz_ref)
    i0, i1 = np.asarray(i0, dtype=np.float64), np.asarray(i1, dtype=np.float64)
    d0, d1 = np.asarray(d0, dtype=np.float64), np.asarray(d1, dtype=np.float64)
    return PairIntegrals(
        i0=i0[:n], i1=i1[:n], s0=(i0[n:] - i0[:n]) / secz_step, s1=(i1[n:] - i1[:n]) / secz_step,
        d_i0=d0[:, :n], d_i1=d1[:, :n], d_s0=(d0[:, n:] - d0[:, :n]) / secz_step,
        d_s1=(d1[:, n:] - d1[:, :n]) / secz_step)


def obs_integrals(pi: PairIntegrals, pair: np.ndarray, dsecz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """I0 and I10 = I1 / I0 (nm) per observation from its pair and its sec z offset (computed in place:
    two observation arrays and one temporary)."""
    i0 = pi.s0[pair]
    i0 *= dsecz
    i0 += pi.i0[pair]
    i10 = pi.s1[pair]
    i10 *= dsecz
    i10 += pi.i1[pair]
    i10 /= i0
    return i0, i10


def chromatic_correction(sed_slope: np.ndarray, i10: np.ndarray, i10_std: np.ndarray) -> np.ndarray:
    """delta_std = 2.5 log10[(1 + F' I10) / (1 + F' I10_std)], mag (F' in 1/nm, I10 in nm); computed in
    place (two observation arrays)."""
    delta = np.multiply(sed_slope, i10)
    np.log1p(delta, out=delta)
    ref = np.multiply(sed_slope, i10_std)
    np.log1p(ref, out=ref)
    delta -= ref
    del ref
    delta *= MC
    return delta


def aperture_curvature_feature(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The aperture correction's curvature feature q(x), mag^2, so that the correction is
    ``slope x + curvature q(x)``.

    ``q = x^2`` inside [low, high] (the band's range of delta-aperture offsets x, mag, among the visits
    the fit used) and continues as its tangent outside it, ``q = 2 c x - c^2`` with ``c`` = x clipped to
    the range: a visit with worse (or better) seeing than every fitted one gets the correction's value and
    slope at the edge of what the fit saw, not a parabola extrapolated beyond its data (the reference
    clips the seeing to its fitted range, FGCM_ALGORITHM.md 3.6). Arrays broadcast.
    """
    c = np.clip(x, low, high)
    return c * (2.0 * x - c)
