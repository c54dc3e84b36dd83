"""The fit vector: per-night atmosphere, QE_sys per wash interval and filter offsets, with bounds.

Layout (FGCM_ALGORITHM.md 3.8, without the unused quadratic PWV term)::

    [o3 | alpha | ln_pwv_intercept | ln_pwv_slope | ln_tau_intercept | ln_tau_slope]  (n_nights each)
    [qe_sys_intercept | qe_sys_slope]  (n_wash each)     [filter_offset]  (n_filters)
    [aper_corr_slope | aper_corr_curvature]  (n_bands each)
    [ccd_chromaticity]  (n_filters x n_detectors: an I10 offset of each detector's passband, nm)
    [superstar]  (n_epochs x n_filters x n_detectors: gray flat per detector, mag)

Two deliberate departures from the reference, both linear gray terms that the profiled chi-square
constrains directly: the QE_sys slope per wash interval (mag/day from the interval start) and the
aperture correction per band (slope and curvature in the visit's median delta-aperture, about a
pivot) are fitted jointly with the atmosphere instead of being estimated after each fit
(FGCM_ALGORITHM.md 3.4, 3.6), which keeps them from being confounded with airmass (seeing grows with
airmass) and with the nightly atmosphere. The per-detector chromaticity is FGCM's CCD chromaticity
(FGCM_ALGORITHM.md 1.8) in its simplest form: a shift of the detector's I10, which moves the chromatic
correction of a star by ``2.5 log10[(1 + F' (I10 + d)) / (1 + F' I10)]``; its focal-plane mean per filter
is pinned to zero (it is degenerate with the star colours), see :func:`pinned`. The superstar flat
is fitted jointly as well (FGCM_LESSONS.md 3: the reference's once-per-cycle estimate converges slowly,
and a per-detector gray left out of the fit leaks into the chromaticity); its focal-plane mean per
(epoch, filter) is pinned to zero too (degenerate with the star magnitudes), so the absolute scale is
the model throughput's.

Nightly slopes are per day about a **mid-night pivot** (the midpoint of the night's first and last
visit), not about the night boundary: FGCM_ALGORITHM.md 15.6 notes that the boundary pivot correlates
intercept and slope. Visit values: ``ln PWV(e) = I[n] + S[n] (mjd - pivot[n])``, likewise ln tau.
"""

from __future__ import annotations

import dataclasses

import numpy as np

#: nightly atmosphere classes, in vector order, with their unit
ATM_CLASSES = ("o3", "alpha", "ln_pwv_intercept", "ln_pwv_slope", "ln_tau_intercept", "ln_tau_slope")
#: bounds of the Angstrom exponent and of the nightly log slopes (FGCM_ALGORITHM.md 3.3)
ALPHA_BOUNDS = (0.25, 1.75)
SLOPE_BOUNDS = (-4.0, 4.0)
QE_BOUNDS = (-0.4, 0.4)
QE_SLOPE_BOUNDS = (-0.01, 0.01)
APER_BOUNDS = (-5.0, 5.0)
APER_CURVATURE_BOUNDS = (-50.0, 50.0)
CHROMATICITY_BOUNDS = (-5.0, 5.0)
SUPERSTAR_BOUNDS = (-0.5, 0.5)
FILTER_OFFSET_BOUNDS = (-100.0, 100.0)
#: deepest per-visit cloud term of the fit (Chisq cloud_threshold), mag
CLOUD_TERM_BOUND = 2.0


@dataclasses.dataclass(frozen=True)
class StandardAtmosphere:
    """Standard atmosphere and the LUT ranges that bound the fit.

    Attributes
    ----------
    pwv : mm; o3 : Dobson; tau : 1; alpha : 1; pmb : hPa (standard pressure).
    ln_pwv_range, o3_range, ln_tau_range : (low, high) of the LUT axes.
    """

    pwv: float
    o3: float
    tau: float
    alpha: float
    pmb: float
    ln_pwv_range: tuple[float, float]
    o3_range: tuple[float, float]
    ln_tau_range: tuple[float, float]


@dataclasses.dataclass
class ParamLayout:
    """Positions of the parameter classes in the fit vector.

    Parameters
    ----------
    n_nights, n_wash, n_filters, n_bands, n_detectors : sizes of the classes.
    """

    n_nights: int
    n_wash: int
    n_filters: int
    n_bands: int
    n_detectors: int = 0
    n_epochs: int = 1

    @property
    def size(self) -> int:
        return self.flat.stop

    def atm(self, k: int) -> slice:
        """Slice of nightly class ``k`` (index into ATM_CLASSES)."""
        return slice(k * self.n_nights, (k + 1) * self.n_nights)

    @property
    def qe(self) -> slice:
        return slice(6 * self.n_nights, 6 * self.n_nights + self.n_wash)

    @property
    def qe_slope(self) -> slice:
        return slice(6 * self.n_nights + self.n_wash, 6 * self.n_nights + 2 * self.n_wash)

    @property
    def filt(self) -> slice:
        start = 6 * self.n_nights + 2 * self.n_wash
        return slice(start, start + self.n_filters)

    @property
    def aper(self) -> slice:
        start = self.filt.stop
        return slice(start, start + self.n_bands)

    @property
    def aper2(self) -> slice:
        start = self.aper.stop
        return slice(start, start + self.n_bands)

    @property
    def chrom(self) -> slice:
        start = 6 * self.n_nights + 2 * self.n_wash + self.n_filters + 2 * self.n_bands
        return slice(start, start + self.n_filters * self.n_detectors)

    @property
    def flat(self) -> slice:
        start = self.chrom.stop
        return slice(start, start + self.n_epochs * self.n_filters * self.n_detectors)

    def class_of(self) -> np.ndarray:
        """Class name of every vector entry (ATM_CLASSES, then the instrument classes)."""
        names = np.empty(self.size, dtype=object)
        for k, name in enumerate(ATM_CLASSES):
            names[self.atm(k)] = name
        names[self.qe] = "qe_sys_intercept"
        names[self.qe_slope] = "qe_sys_slope"
        names[self.filt] = "filter_offset"
        names[self.aper] = "aper_corr_slope"
        names[self.aper2] = "aper_corr_curvature"
        names[self.chrom] = "ccd_chromaticity"
        names[self.flat] = "superstar"
        return names

    def standard_vector(self, std: StandardAtmosphere) -> np.ndarray:
        """The reset point: standard atmosphere, zero slopes, zero instrument terms."""
        p = np.zeros(self.size)
        p[self.atm(0)] = std.o3
        p[self.atm(1)] = std.alpha
        p[self.atm(2)] = np.log(std.pwv)
        p[self.atm(4)] = np.log(std.tau)
        return p

    def bounds(self, std: StandardAtmosphere) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of every entry (FGCM_ALGORITHM.md 3.3)."""
        lo, hi = np.empty(self.size), np.empty(self.size)
        for k, (a, b) in enumerate((std.o3_range, ALPHA_BOUNDS, std.ln_pwv_range, SLOPE_BOUNDS,
                                    std.ln_tau_range, SLOPE_BOUNDS)):
            lo[self.atm(k)], hi[self.atm(k)] = a, b
        lo[self.qe], hi[self.qe] = QE_BOUNDS
        lo[self.qe_slope], hi[self.qe_slope] = QE_SLOPE_BOUNDS
        lo[self.filt], hi[self.filt] = FILTER_OFFSET_BOUNDS
        lo[self.aper], hi[self.aper] = APER_BOUNDS
        lo[self.aper2], hi[self.aper2] = APER_CURVATURE_BOUNDS
        lo[self.chrom], hi[self.chrom] = CHROMATICITY_BOUNDS
        lo[self.flat], hi[self.flat] = SUPERSTAR_BOUNDS
        return lo, hi


@dataclasses.dataclass
class VisitAtmosphere:
    """Per-visit atmosphere from the fit vector.

    Attributes
    ----------
    ln_pwv, o3, ln_tau, alpha : per visit, clipped to the LUT ranges.
    pwv_free, tau_free : bool per visit, False where the clip is active (zero derivative).
    """

    ln_pwv: np.ndarray
    o3: np.ndarray
    ln_tau: np.ndarray
    alpha: np.ndarray
    pwv_free: np.ndarray
    tau_free: np.ndarray


def visit_atmosphere(p: np.ndarray, layout: ParamLayout, std: StandardAtmosphere,
                     visit_night: np.ndarray, visit_dt: np.ndarray) -> VisitAtmosphere:
    """Evaluate the nightly models at the visits.

    Parameters
    ----------
    p : fit vector.
    visit_night : night index (0..n_nights-1) per visit.
    visit_dt : days from the night's pivot per visit.
    """
    n = visit_night
    ln_pwv = p[layout.atm(2)][n] + p[layout.atm(3)][n] * visit_dt
    ln_tau = p[layout.atm(4)][n] + p[layout.atm(5)][n] * visit_dt
    ln_pwv_c = np.clip(ln_pwv, *std.ln_pwv_range)
    ln_tau_c = np.clip(ln_tau, *std.ln_tau_range)
    return VisitAtmosphere(
        ln_pwv=ln_pwv_c, o3=np.clip(p[layout.atm(0)][n], *std.o3_range), ln_tau=ln_tau_c,
        alpha=p[layout.atm(1)][n], pwv_free=ln_pwv_c == ln_pwv, tau_free=ln_tau_c == ln_tau,
    )


#: distance from a bound within which a free parameter counts as sitting on it (parameter units)
AT_BOUND_TOLERANCE = 1e-6


def at_bound(value, lower, upper, free):
    """True where a free parameter ended within AT_BOUND_TOLERANCE of its lower or upper bound
    (the data did not pin it: FGCM_LESSONS.md 5); arrays or scalars, one shape."""
    value = np.asarray(value, dtype=np.float64)
    near = (np.abs(value - lower) < AT_BOUND_TOLERANCE) | (np.abs(value - upper) < AT_BOUND_TOLERANCE)
    return np.asarray(free, dtype=bool) & near


def nights_at_bound(layout: ParamLayout, p: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                    free: np.ndarray, night_ids: np.ndarray) -> dict[str, tuple[np.ndarray, int]]:
    """Per nightly atmosphere class (ATM_CLASSES), the night ids whose free value sits on a bound and
    the number of nights for which that class was free."""
    out = {}
    for k, name in enumerate(ATM_CLASSES):
        sl = layout.atm(k)
        on = at_bound(p[sl], lower[sl], upper[sl], free[sl])
        out[name] = (np.asarray(night_ids)[on], int(np.count_nonzero(free[sl])))
    return out


def pinned(u: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Values (rows, detectors) from the free values ``u``: u minus its ``weight``-ed mean per row
    (weights = observations per detector), so the focal-plane mean is zero."""
    w = weight.astype(np.float64)
    total = w.sum(axis=1, keepdims=True)
    mean = (u * w).sum(axis=1, keepdims=True) / np.where(total > 0, total, 1.0)
    return u - mean


def pinned_gradient(g_delta: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Chain rule of :func:`pinned`: d/du from d/d(value), both (rows, detectors)."""
    w = weight.astype(np.float64)
    total = w.sum(axis=1, keepdims=True)
    return g_delta - w / np.where(total > 0, total, 1.0) * g_delta.sum(axis=1, keepdims=True)
