"""The profiled chi-square of the fit and its analytic gradient (FGCM_ALGORITHM.md 4.2-4.3).

The star magnitudes are profiled out: at every evaluation ``<m_std>`` is the inverse-variance weighted
mean of each (star, band) group, so ``chi2 = sum_i w_i (m_std,i - <m_std>_g(i))^2``. Its gradient is

    d chi2 / d p_k = 2 sum_i w_i r_i (D_ik - sigma2_<m>,g sum_{i' in g} w_i' D_i'k)

and the second term vanishes identically because the weighted residuals of a group sum to zero (the
mean is the minimiser: envelope theorem). So the gradient needs only per-observation sums, collected
per (visit, detector) pair and then per visit, night, wash and filter with ``np.bincount``.
The group terms do matter for the curvature used as step units (:meth:`Chisq.step_units`): there they
are accumulated over the observed (star-band, night) and (star-band, wash) keys only, never as dense
star x night arrays.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import scipy.optimize

from ..progress import say
from .arrays import compact_index
from .model import MC, Passbands, chromatic_correction, obs_integrals, pair_integrals
from .params import ATM_CLASSES, ParamLayout, StandardAtmosphere, pinned, pinned_gradient, visit_atmosphere

log = logging.getLogger(__name__)


@dataclasses.dataclass
class FitData:
    """The observations that enter the chi-square, with their index arrays.

    Observation arrays (length n_obs): ``pair`` (index into the pair arrays), ``dsecz`` (sec z minus
    the pair's reference), ``weight`` (1/sigma^2, 1/mag^2), ``group`` (star-band group, 0..n_groups-1),
    ``m_const`` (mag: every term that does not depend on the fit vector), ``sed_slope`` (1/nm),
    ``i10_std`` (nm), ``visit`` (index into the visit arrays), ``band`` (0..n_bands-1), ``aper_x``
    (mag: the visit's median delta-aperture minus the band's pivot, 0 when unknown), ``aper_q``
    (mag^2: the curvature term's feature, ``x^2`` inside the band's fitted range, continued linearly
    outside it, :func:`fgcm_db.fit.model.aperture_curvature_feature`), ``chrom_key``
    (filter x n_detectors + detector, the CCD-chromaticity entry); ``chrom_counts`` (optional, per entry: the
    weights of its zero-mean constraint); ``flat_key`` ((epoch x n_filters + filter) x n_detectors +
    detector: the superstar entry) and ``flat_counts`` likewise (both optional: no superstar term);
    ``aper_range`` (optional, (n_bands, 2), mag) the delta-aperture offsets between which the aperture
    correction must not increase (see :class:`Chisq`).
    Pair arrays: ``pair_filter``, ``pair_detector`` (LUT indices), ``pair_secz``, ``pair_pmb`` (hPa),
    ``pair_visit``. Visit arrays: ``visit_night`` (0..n_nights-1), ``visit_dt`` (days from the night
    pivot), ``visit_wash``, ``visit_qe_dt`` (days from the wash interval's start), ``visit_filter``.
    """

    pair: np.ndarray
    dsecz: np.ndarray
    weight: np.ndarray
    group: np.ndarray
    m_const: np.ndarray
    sed_slope: np.ndarray
    i10_std: np.ndarray
    visit: np.ndarray
    band: np.ndarray
    aper_x: np.ndarray
    aper_q: np.ndarray
    chrom_key: np.ndarray
    pair_filter: np.ndarray
    pair_detector: np.ndarray
    pair_secz: np.ndarray
    pair_pmb: np.ndarray
    pair_visit: np.ndarray
    visit_night: np.ndarray
    visit_dt: np.ndarray
    visit_wash: np.ndarray
    visit_qe_dt: np.ndarray
    visit_filter: np.ndarray
    n_groups: int
    n_bands: int
    chrom_counts: np.ndarray | None = None
    flat_key: np.ndarray | None = None
    flat_counts: np.ndarray | None = None
    aper_range: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.group_weight = np.bincount(self.group, self.weight, minlength=self.n_groups)
        self.band = compact_index(self.band, self.n_bands)

    def chrom_weight(self, n_filters: int, n_detectors: int) -> np.ndarray:
        """Weights per (filter, detector) that pin the chromaticity mean: ``chrom_counts`` when given
        (the same for every subset of one cycle), else the observations of this set."""
        if self.chrom_counts is not None:
            return self.chrom_counts.reshape(n_filters, n_detectors)
        return np.bincount(self.chrom_key, minlength=n_filters * n_detectors).reshape(n_filters, n_detectors)

    @property
    def n_obs(self) -> int:
        return len(self.pair)


class Chisq:
    """chi2/DOF and its gradient for one fit set.

    Parameters
    ----------
    data : the fit set.
    passbands : the LUT.
    layout, std : fit-vector layout and standard atmosphere.
    free : bool per vector entry, the parameters the optimiser varies (fixes the DOF).
    chromatic : apply the chromatic correction.
    chromaticity_prior : width (nm) of a Gaussian prior centred on 0 for each CCD-chromaticity offset,
        added to the chi-square as sum (offset / width)^2; 0 = none. In bands where the stars' SED
        slopes span little (r), the data barely constrain the offsets and the prior keeps them from
        trading noise against the superstar.
    cloud_threshold : mag; > 0 appends one cloud term per visit to the vector (after
        ``layout.size``): a gray offset ``c_v <= 0`` added to the visit's magnitudes, with the penalty
        ``lambda_v |c_v|``, ``lambda_v = 2 cloud_threshold W_v`` and ``W_v`` the visit's profiled weight
        (half the curvature of chi2 in ``c_v``). A visit then takes a cloud term only where its mean
        residual is fainter than the model by more than ``cloud_threshold``, and by that excess (a soft
        threshold), so a cloudy visit still in the photometric set pulls the nightly atmosphere by at
        most the threshold instead of by its whole cloud. Clouds only remove light: the atmosphere is
        fitted to the bright envelope of a night's visits. 0 = no cloud terms (the reference).

    With ``data.aper_range`` and a free aperture correction, the chi-square also holds the penalty
    ``sum (max(0, dA/dx) / APER_MONOTONIC_WIDTH)^2`` over both ends of each band's range, dA/dx =
    slope + 2 curvature x the correction's derivative there. A wider PSF loses more light outside the
    calibration aperture *and* raises the delta-aperture, so the correction can only fall with x; the
    penalty keeps the curvature from bending it back up to absorb atmosphere errors (on simulated tracts
    a free z curvature reached -50, its bound, with the derivative +0.5 at the range's low end).
    """

    #: width of the one-sided penalty that keeps the aperture correction from increasing with the
    #: delta-aperture, mag per mag of delta-aperture
    APER_MONOTONIC_WIDTH = 0.003

    def __init__(self, data: FitData, passbands: Passbands, layout: ParamLayout, std: StandardAtmosphere,
                 free: np.ndarray, chromatic: bool = True, chromaticity_prior: float = 0.0,
                 cloud_threshold: float = 0.0):
        self.data, self.passbands, self.layout, self.std = data, passbands, layout, std
        self.n_cloud = len(data.visit_night) if cloud_threshold > 0 else 0
        #: entries of the vector: the layout's, then the per-visit cloud terms
        self.size = layout.size + self.n_cloud
        self.cloud = slice(layout.size, self.size)
        self.free = np.asarray(free, dtype=bool)
        if len(self.free) != self.size:
            raise ValueError(f"free has {len(self.free)} entries, the vector {self.size}")
        self.chromatic = chromatic
        self.prior = chromaticity_prior if (layout.n_detectors and chromatic) else 0.0
        self.dof = max(data.n_obs - int(self.free.sum()), 1)
        self.atm_free = bool(self.free[: 6 * layout.n_nights].any())
        ends = data.aper_range
        self.aper_ends = (None if ends is None or not self.free[layout.aper].any()
                          else np.where(np.isfinite(ends), ends, np.nan))
        self.n_evaluations = 0
        self.chrom_weight = data.chrom_weight(layout.n_filters, layout.n_detectors)
        #: per visit, sum_i w_i (1 - <1>_g)^2: the profiled weight of a gray offset of the visit, 1/mag^2
        #: (half the chi-square's curvature in its cloud term)
        self.visit_weight = (self._grouped_curvature(None, self._group_blocks(data.visit, len(data.visit_night)))
                             if self.n_cloud else np.zeros(0))
        self.cloud_penalty = 2.0 * cloud_threshold * self.visit_weight

    # -- forward model ---------------------------------------------------------------------
    def _integrals(self, p: np.ndarray, derivatives: bool):
        d = self.data
        atm = visit_atmosphere(p, self.layout, self.std, d.visit_night, d.visit_dt)
        pv = d.pair_visit
        pi = pair_integrals(self.passbands, d.pair_filter, d.pair_detector, d.pair_secz, d.pair_pmb,
                            (atm.o3[pv], atm.alpha[pv], atm.ln_pwv[pv], atm.ln_tau[pv]),
                            derivatives=derivatives)
        return atm, pi

    def magnitudes(self, p: np.ndarray, derivatives: bool = False):
        """m_std per observation and the pieces of the gradient: (atm, pi, i0, i10, i10_eff), with
        ``i10_eff`` = I10 plus the detector's chromaticity offset (nm), the I10 of the chromatic
        correction; with ``derivatives`` the atmosphere derivatives in ``pi``."""
        d = self.data
        atm, pi = self._integrals(p, derivatives)
        i0, i10 = obs_integrals(pi, d.pair, d.dsecz)
        lay = self.layout
        i10_eff = self._chrom_shift(p)
        i10_eff += i10
        # summed term by term in place (the order of the one-expression sum, so the same bits) to keep
        # the temporaries to one or two observation arrays; per-visit terms are gathered per observation
        # (the same products as per observation)
        m = d.m_const + p[lay.qe][d.visit_wash][d.visit]
        m += (p[lay.qe_slope][d.visit_wash] * d.visit_qe_dt)[d.visit]
        m += p[lay.filt][d.visit_filter][d.visit]
        term = p[lay.aper][d.band] * d.aper_x
        term += p[lay.aper2][d.band] * d.aper_q
        m += term
        term = np.log(i0, out=term)
        term *= MC
        m += term
        del term
        m += self._flat(p)
        if self.n_cloud:
            m += p[self.cloud][d.visit]
        if self.chromatic:
            m += chromatic_correction(d.sed_slope, i10_eff, d.i10_std)
        return m, (atm, pi, i0, i10, i10_eff)

    def effective_i10(self, p: np.ndarray) -> np.ndarray:
        """I10 plus the detector's chromaticity offset per observation, nm (the ``i10_eff`` of
        :meth:`magnitudes` without the magnitudes)."""
        d = self.data
        _, pi = self._integrals(p, False)
        i0, i10 = obs_integrals(pi, d.pair, d.dsecz)
        del i0
        i10_eff = self._chrom_shift(p)
        i10_eff += i10
        return i10_eff

    def _flat(self, p: np.ndarray) -> np.ndarray:
        """Per-observation superstar (mag), 0 without a superstar term."""
        d, lay = self.data, self.layout
        if d.flat_key is None:
            return 0.0
        u = p[lay.flat].reshape(-1, lay.n_detectors)
        return pinned(u, d.flat_counts.reshape(-1, lay.n_detectors)).reshape(-1)[d.flat_key]

    def _chrom_shift(self, p: np.ndarray) -> np.ndarray:
        """Per-observation I10 offset of its detector (nm)."""
        lay = self.layout
        if lay.n_detectors == 0:
            return np.zeros(self.data.n_obs)
        u = p[lay.chrom].reshape(lay.n_filters, lay.n_detectors)
        return pinned(u, self.chrom_weight).reshape(-1)[self.data.chrom_key]

    def residuals(self, m: np.ndarray) -> np.ndarray:
        """m_std - <m_std> of its star-band group."""
        d = self.data
        mean = np.bincount(d.group, d.weight * m, minlength=d.n_groups) / np.where(
            d.group_weight > 0, d.group_weight, 1.0)
        return m - mean[d.group]

    # -- value and gradient ----------------------------------------------------------------
    def __call__(self, p: np.ndarray) -> tuple[float, np.ndarray]:
        """(chi2 / DOF, gradient with respect to the full vector p)."""
        self.n_evaluations += 1
        d, lay = self.data, self.layout
        m, (atm, pi, i0, i10, i10_eff) = self.magnitudes(p, derivatives=self.atm_free)
        r = self.residuals(m)
        del m
        wr2 = 2.0 * d.weight * r
        chi2 = float(np.dot(wr2, r)) / 2.0
        del r
        grad = np.zeros(self.size)
        s_visit = np.bincount(d.visit, wr2, minlength=len(d.visit_night))
        if self.n_cloud:
            # |c| = -c on the bounds [lower, 0]
            chi2 -= float(np.dot(self.cloud_penalty, p[self.cloud]))
            grad[self.cloud] = s_visit - self.cloud_penalty
        grad[lay.qe] = np.bincount(d.visit_wash, s_visit, minlength=lay.n_wash)
        grad[lay.qe_slope] = np.bincount(d.visit_wash, s_visit * d.visit_qe_dt, minlength=lay.n_wash)
        grad[lay.filt] = np.bincount(d.visit_filter, s_visit, minlength=lay.n_filters)
        grad[lay.aper] = np.bincount(d.band, wr2 * d.aper_x, minlength=lay.n_bands)
        grad[lay.aper2] = np.bincount(d.band, wr2 * d.aper_q, minlength=lay.n_bands)
        c = self._chromatic_factor(i10_eff)
        del i10_eff
        if lay.n_detectors and self.chromatic:
            g_delta = np.bincount(d.chrom_key, wr2 * MC * c, minlength=lay.n_filters * lay.n_detectors)
            grad[lay.chrom] = pinned_gradient(g_delta.reshape(lay.n_filters, lay.n_detectors),
                                              self.chrom_weight).reshape(-1)
        if self.prior > 0:
            w = self.chrom_weight
            delta = pinned(p[lay.chrom].reshape(lay.n_filters, lay.n_detectors), w)
            chi2 += float(np.sum((delta / self.prior) ** 2))
            grad[lay.chrom] += pinned_gradient(2.0 * delta / self.prior ** 2, w).reshape(-1)
        if self.aper_ends is not None:
            excess = self._aper_excess(p)
            w = 1.0 / self.APER_MONOTONIC_WIDTH ** 2
            chi2 += w * float(np.sum(excess ** 2))
            grad[lay.aper] += 2.0 * w * excess.sum(axis=1)
            grad[lay.aper2] += 4.0 * w * np.sum(excess * np.nan_to_num(self.aper_ends), axis=1)
        if d.flat_key is not None:
            nf = lay.flat.stop - lay.flat.start
            g_flat = np.bincount(d.flat_key, wr2, minlength=nf).reshape(-1, lay.n_detectors)
            grad[lay.flat] = pinned_gradient(g_flat, d.flat_counts.reshape(-1, lay.n_detectors)).reshape(-1)
        if self.atm_free:
            g_visit = self._atmosphere_visit_gradient(wr2, pi, i0, i10, c)
            g_visit[2] *= atm.pwv_free
            g_visit[3] *= atm.tau_free
            nn = lay.n_nights
            for k, (var, chained) in enumerate(((0, False), (1, False), (2, False), (2, True), (3, False),
                                                (3, True))):
                weights = g_visit[var] * d.visit_dt if chained else g_visit[var]
                grad[lay.atm(k)] = np.bincount(d.visit_night, weights, minlength=nn)
        return chi2 / self.dof, grad / self.dof

    def _aper_excess(self, p: np.ndarray) -> np.ndarray:
        """(n_bands, 2) positive part of the aperture correction's derivative at the ends of each band's
        range (0 where the range is unbounded), mag per mag of delta-aperture."""
        lay = self.layout
        slope = p[lay.aper][:, None] + 2.0 * p[lay.aper2][:, None] * self.aper_ends
        return np.nan_to_num(np.maximum(slope, 0.0))

    def _chromatic_factor(self, i10: np.ndarray) -> np.ndarray:
        if not self.chromatic:
            return np.zeros_like(i10)
        f = self.data.sed_slope
        return f / (1.0 + f * i10)

    def _atmosphere_visit_gradient(self, wr2, pi, i0, i10, c) -> np.ndarray:
        """sum_i 2 w_i r_i dm_i/dx per visit, shape (4, n_visits), x in model.ATM_VARS; ``c`` is
        F' / (1 + F' I10_eff) per observation."""
        d = self.data
        npair = len(d.pair_visit)
        base = wr2 * MC
        base /= i0
        u = np.subtract(1.0, c * i10)
        u *= base  # u = base (1 - c I10)
        sums = [np.bincount(d.pair, u, minlength=npair)]
        u *= d.dsecz
        sums.append(np.bincount(d.pair, u, minlength=npair))
        del u
        v = base
        v *= c  # v = base c
        sums.append(np.bincount(d.pair, v, minlength=npair))
        v *= d.dsecz
        sums.append(np.bincount(d.pair, v, minlength=npair))
        del v, base
        g_pair = sums[0] * pi.d_i0 + sums[1] * pi.d_s0 + sums[2] * pi.d_i1 + sums[3] * pi.d_s1
        return np.stack([np.bincount(d.pair_visit, g_pair[k], minlength=len(d.visit_night)) for k in range(4)])

    # -- step units ------------------------------------------------------------------------
    def curvature(self, p: np.ndarray) -> np.ndarray:
        """Gauss-Newton diagonal d2(chi2/DOF)/dp_k^2 with the profiled means, per vector entry.

        ``2/DOF * sum_i w_i (D_ik - <D_k>_g)^2`` = ``2/DOF * [sum_i w D^2 - sum_keys (sum_key w D)^2 / W_g]``,
        keys = observed (star-band group, night) or (group, wash) or (group, filter) combinations.
        """
        d, lay = self.data, self.layout
        # the (group, night) keys first, while no other observation temporaries are alive
        nights = self._group_blocks(compact_index(d.visit_night, lay.n_nights)[d.visit], lay.n_nights)
        m, (atm, pi, i0, i10, i10_eff) = self.magnitudes(p, derivatives=True)
        del m
        h = np.zeros(self.size)
        c = self._chromatic_factor(i10_eff)
        del i10_eff
        mc_i0 = np.divide(MC, i0)
        one_minus = np.subtract(1.0, c * i10)
        del i0, i10
        for k, (var, chained) in enumerate(((0, False), (1, False), (2, False), (2, True), (3, False),
                                            (3, True))):
            dm = self._atmosphere_derivative(pi, var, mc_i0, one_minus, c)
            if var == 2:
                dm *= atm.pwv_free[d.visit]
            elif var == 3:
                dm *= atm.tau_free[d.visit]
            if chained:
                dm *= d.visit_dt[d.visit]
            h[lay.atm(k)] = self._grouped_curvature(dm, nights)
            del dm
        del nights, mc_i0, one_minus
        washes = self._group_blocks(compact_index(d.visit_wash, lay.n_wash)[d.visit], lay.n_wash)
        h[lay.qe] = self._grouped_curvature(None, washes)
        h[lay.qe_slope] = self._grouped_curvature(d.visit_qe_dt[d.visit], washes)
        del washes
        filters = compact_index(d.visit_filter, lay.n_filters)[d.visit]
        h[lay.filt] = self._grouped_curvature(None, self._group_blocks(filters, lay.n_filters))
        del filters
        bands = self._group_blocks(d.band, lay.n_bands)
        h[lay.aper] = self._grouped_curvature(d.aper_x, bands)
        h[lay.aper2] = self._grouped_curvature(d.aper_q, bands)
        del bands
        if self.aper_ends is not None:
            active = (self._aper_excess(p) > 0) / self.APER_MONOTONIC_WIDTH ** 2
            h[lay.aper] += active.sum(axis=1)
            h[lay.aper2] += np.sum(active * 4.0 * np.nan_to_num(self.aper_ends) ** 2, axis=1)
        if lay.n_detectors and self.chromatic:
            c *= MC
            h[lay.chrom] = self._grouped_curvature(c, self._group_blocks(d.chrom_key, lay.n_filters * lay.n_detectors))
            if self.prior > 0:
                h[lay.chrom] += 1.0 / self.prior ** 2
        del c
        if d.flat_key is not None:
            h[lay.flat] = self._grouped_curvature(None, self._group_blocks(d.flat_key, lay.flat.stop - lay.flat.start))
        h[self.cloud] = self.visit_weight
        return 2.0 * np.maximum(h, 0.0) / self.dof

    def _atmosphere_derivative(self, pi, var: int, mc_i0: np.ndarray, one_minus: np.ndarray,
                               c: np.ndarray) -> np.ndarray:
        """d m_std / d x per observation (mag per unit of x = model.ATM_VARS[var]):
        ``MC / I0 ((1 - c I10) dI0 + c dI10)``, given ``mc_i0`` = MC / I0 and ``one_minus`` = 1 - c I10."""
        pair, ds = self.data.pair, self.data.dsecz
        di0 = pi.d_s0[var][pair]
        di0 *= ds
        di0 += pi.d_i0[var][pair]
        di1 = pi.d_s1[var][pair]
        di1 *= ds
        di1 += pi.d_i1[var][pair]
        dm = np.multiply(one_minus, di0, out=di0)
        di1 *= c
        dm += di1
        dm *= mc_i0
        return dm

    def _group_blocks(self, block: np.ndarray, n_block: int):
        """The observed (star-band group, block) keys of ``block`` (index per observation, 0..n_block-1):
        (block of each key, key index per observation, group weight W_g of each key)."""
        d = self.data
        # 32-bit keys when they fit: np.unique's sort then moves half the bytes
        key_type = np.int32 if d.n_groups * n_block < np.iinfo(np.int32).max else np.int64
        key = d.group.astype(key_type) * key_type(n_block) + block
        uniq, inv = np.unique(key, return_inverse=True)
        del key
        return (block, n_block, compact_index(uniq % n_block, n_block), compact_index(inv, len(uniq)),
                d.group_weight[uniq // n_block])

    def _grouped_curvature(self, dm: np.ndarray | None, blocks) -> np.ndarray:
        """``sum_i w D^2 - sum_keys (sum_key w D)^2 / W_g`` per block, ``D = dm`` (None: 1) and the keys
        of :meth:`_group_blocks`."""
        d = self.data
        block, n_block, key_block, inv, w_group = blocks
        wdm = d.weight if dm is None else d.weight * dm
        s_key = np.bincount(inv, wdm, minlength=len(w_group))
        if dm is not None:
            wdm *= dm
        direct = np.bincount(block, wdm, minlength=n_block)
        del wdm
        s_key *= s_key
        s_key /= w_group
        profiled = np.bincount(key_block, s_key, minlength=n_block)
        return direct - profiled


def step_units(chisq: Chisq, p: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parameter scaling from the curvature (a documented variant of FGCM_ALGORITHM.md 3.9).

    unit_k = sqrt(d2(chi2/DOF)/dp_k^2), so one optimiser unit changes chi2/DOF by ~1/2 for every
    parameter; atmosphere classes take the median over their touched nights, as FGCM does. Returns
    (units, touched): untouched entries (zero curvature) get unit 1 and touched = False.
    """
    h = chisq.curvature(p)
    touched = h > 0
    units = np.ones_like(h)
    units[touched] = np.sqrt(h[touched])
    for name in np.unique(classes):
        sel = (classes == name) & touched
        if name in ATM_CLASSES and sel.any():
            units[sel] = np.median(units[sel])
    return units, touched


@dataclasses.dataclass
class FitOutcome:
    """Result of :func:`minimize`: best vector, its chi2/DOF, evaluations and a status word."""

    p: np.ndarray
    chi2_per_dof: float
    n_evaluations: int
    status: str


def minimize(chisq: Chisq, p0: np.ndarray, lower: np.ndarray, upper: np.ndarray, units: np.ndarray,
             max_iter: int, gtol: float, report_every: int = 10) -> FitOutcome:
    """L-BFGS-B over the free entries in scaled units; keeps the best point seen.

    Logs one line per ``report_every`` evaluations (chi2/DOF, largest scaled gradient) and says so
    when the optimiser stalls (the last ``report_every`` evaluations within 1e-9 of each other).
    """
    free = chisq.free
    scale = units[free]
    base = p0.copy()
    history: list[float] = []
    best = {"f": np.inf, "p": p0.copy()}

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        p = base.copy()
        p[free] = x / scale
        f, g = chisq(p)
        gs = g[free] / scale
        history.append(f)
        if f < best["f"]:
            best["f"], best["p"] = f, p
        if len(history) % report_every == 0:
            say(f"  fit: evaluation {len(history)}: chi2/dof {f:.4f}, max |gradient| {np.max(np.abs(gs)):.3g}")
        return f, gs

    if not free.any() or max_iter == 0:
        f, _ = chisq(p0)
        return FitOutcome(p0.copy(), f, 1, "no free parameters" if max_iter else "no fit")
    x0 = np.clip(p0[free], lower[free], upper[free]) * scale
    bounds = list(zip(lower[free] * scale, upper[free] * scale))
    res = scipy.optimize.minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                                  options={"maxfun": max_iter, "maxiter": max_iter, "maxcor": 20,
                                           "gtol": gtol, "ftol": 1e-12})
    tail = np.asarray(history[-report_every:])
    if res.success:
        status = "converged"
    elif len(history) >= report_every and np.ptp(tail) < 1e-9 * max(abs(tail[-1]), 1.0):
        status = "stalled"
        say(f"  fit: the optimiser stalled at chi2/dof {tail[-1]:.4f} ({res.message})")
    else:
        status = "budget"
    return FitOutcome(best["p"], best["f"], len(history), status)
