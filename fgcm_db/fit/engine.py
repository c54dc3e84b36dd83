"""One FGCM fit cycle on arrays (FGCM_ALGORITHM.md section 7), without touching storage.

Order: time structure -> star SED slopes and colour cuts -> exposure selection (cycle 0: bright
observations with the standard atmosphere; later: the previous cycle's grays with the current cuts)
-> calibratable nights -> star re-flagging -> focal-plane outlier clip (cycles >= 1) -> step units ->
fit (L-BFGS-B) -> m_std for every observation -> superstar (iterated with the star means) -> CCD and
EXP gray -> selection, automatic cuts -> sigma_FGCM, repeatability -> QE slope, aperture correction ->
sigma_cal -> zero-points and star magnitudes.

The cycle protocol (FGCM_LESSONS.md 1): cycle 0 holds the atmosphere at the standard values; cycles
below ``warm_start_from_cycle`` start the atmosphere from the standard values, later ones from the
previous fit; the automatic cuts may only tighten; a final cycle does no fit and keeps the superstar.
"""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np

from ..configs.fit import FitConfig
from ..progress import say
from . import flags as F
from . import subccd
from .arrays import compact_index
from .chisq import Chisq, FitData, minimize, step_units
from .gray import (
    CcdGray,
    ExpGray,
    auto_cuts,
    auto_var_cut,
    calibratable_nights,
    ccd_gray,
    exp_gray,
    night_gray_offset,
    select_exposures,
)
from .inputs import CycleInputs, FitState
from .model import MC, aperture_curvature_feature, chromatic_correction
from .params import CLOUD_TERM_BOUND, ParamLayout, nights_at_bound, pinned, visit_atmosphere
from .sed import default_rules, derive_coefficients, fill_median, sed_slopes
from .sigma import repeatability_and_sigma_fgcm, sigma_cal
from .stats import group_median, group_range, mad_outliers, normal_equations, weighted_mean
from .superstar import superstar_chromaticity_update, superstar_update
from .surface import gray_surface
from .variability import variable_stars
from .zeropoints import ZeroPoints, compose, zeropoint_flags

log = logging.getLogger(__name__)

#: at most this many passes of :meth:`_Cycle._secondary_grays`
SECONDARY_GRAY_PASSES = 3
#: a visit's gray gradient (:meth:`_Cycle._gray_gradient`) needs this many selected stars
GRADIENT_MIN_STARS = 50
#: detector-gray outlier clip, in units of the observation's own EGray error (:meth:`_Cycle._detector_outliers`)
DETECTOR_CLIP_NSIG = 5.0


@dataclasses.dataclass
class CycleOutputs:
    """Everything a cycle produces (arrays aligned with its CycleInputs); see tables.py for storage."""

    cycle: int
    final: bool
    state: FitState
    layout: ParamLayout
    classes: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    free: np.ndarray
    units: np.ndarray
    night_pivot: np.ndarray
    night_fitted: np.ndarray
    night_n_visits: np.ndarray
    night_n_phot: np.ndarray
    wash_start: np.ndarray
    visit_night: np.ndarray
    visit_epoch: np.ndarray
    visit_flag: np.ndarray
    visit_pwv: np.ndarray
    visit_o3: np.ndarray
    visit_tau: np.ndarray
    visit_alpha: np.ndarray
    visit_qe: np.ndarray
    visit_aper: np.ndarray
    visit_cloud: np.ndarray
    ccd_chrom: np.ndarray
    exp: ExpGray
    pair_visit: np.ndarray
    pair_detector: np.ndarray
    ccd: CcdGray
    superstar_applied: np.ndarray
    superstar_err: np.ndarray
    superstar_n: np.ndarray
    sub_ccd_applied: np.ndarray | None
    mag_std: np.ndarray
    mag_std_err: np.ndarray
    mag_std_raw: np.ndarray
    n_good: np.ndarray
    n_total: np.ndarray
    sed: np.ndarray
    zeropoints: ZeroPoints
    chi2_per_dof: float
    n_evaluations: int
    status: str
    sigma_fgcm: np.ndarray
    sigma_cal: np.ndarray
    crunched_repeatability: np.ndarray
    cuts_used: np.ndarray
    converged: bool
    n_fit_stars: np.ndarray


def run_cycle(inp: CycleInputs, cfg: FitConfig, cycle: int, prev: FitState | None = None,
              final: bool = False) -> CycleOutputs:
    """Run one cycle; ``prev`` is the previous cycle's state (None for cycle 0)."""
    return _Cycle(inp, cfg, cycle, prev, final).run()


class _Cycle:
    """The steps of one cycle, sharing the arrays they build."""

    def __init__(self, inp: CycleInputs, cfg: FitConfig, cycle: int, prev: FitState | None, final: bool):
        self.inp, self.cfg, self.cycle, self.prev, self.final = inp, cfg, cycle, prev, final
        self.nb, self.nv, self.nd, self.ns = len(inp.bands), inp.n_visits, inp.n_detectors, inp.n_stars
        self.nf = len(inp.filters)

    # ------------------------------------------------------------------------------------------
    def run(self) -> CycleOutputs:
        self._time_structure()
        self._observation_arrays()
        self._initial_state()
        self._sed_and_colour()
        self._initial_selection()
        self._fit()
        self._after_fit()
        return self._outputs()

    # -- setup ---------------------------------------------------------------------------------
    def _time_structure(self) -> None:
        inp, cfg = self.inp, self.cfg
        self.night_ids, self.visit_night = np.unique(inp.visit_night_id, return_inverse=True)
        nn = len(self.night_ids)
        tmin, tmax = group_range(self.visit_night, inp.visit_mjd, nn)
        self.night_pivot = 0.5 * (tmin + tmax)
        self.visit_dt = inp.visit_mjd - self.night_pivot[self.visit_night]
        washes = np.asarray(cfg.wash_mjds, dtype=np.float64)
        self.visit_wash = np.searchsorted(washes, inp.visit_mjd, side="right")
        self.wash_start = np.concatenate([[inp.visit_mjd.min() - 1.0], washes])
        self.visit_epoch = np.searchsorted(np.asarray(cfg.epoch_mjds, dtype=np.float64), inp.visit_mjd,
                                           side="right")
        self.n_epoch = len(cfg.epoch_mjds) + 1
        self.layout = ParamLayout(nn, len(washes) + 1, self.nf, self.nb, self.nd, self.n_epoch)
        self.visit_qe_dt = inp.visit_mjd - self.wash_start[self.visit_wash]

    def _observation_arrays(self) -> None:
        inp = self.inp
        self.obs_band = compact_index(inp.visit_band, self.nb)[inp.obs_visit]
        self.group = (inp.obs_star.astype(np.int64) * self.nb + self.obs_band).astype(np.int32)
        self.n_groups = self.ns * self.nb
        key = inp.obs_visit.astype(np.int64) * self.nd + inp.obs_detector
        ukey, obs_pair = np.unique(key, return_inverse=True)
        self.obs_pair = obs_pair.astype(np.int32)
        self.pair_visit, self.pair_detector = ukey // self.nd, ukey % self.nd
        secz = np.clip(inp.obs_secz, *inp.secz_range)
        npair = len(ukey)
        self.pair_secz = np.bincount(self.obs_pair, secz, minlength=npair) / np.bincount(self.obs_pair, minlength=npair)
        del secz
        n_ss = self.n_epoch * self.nf * self.nd
        self.ss_key = compact_index((self.visit_epoch * self.nf + inp.visit_filter) * self.nd, n_ss)[inp.obs_visit]
        self.ss_key += inp.obs_detector
        self.obs_reserved = inp.star_reserved[inp.obs_star]
        self.chrom_key = compact_index(inp.visit_filter * self.nd, self.nf * self.nd)[inp.obs_visit]
        self.chrom_key += inp.obs_detector
        self.chrom_counts = np.bincount(self.chrom_key, minlength=self.nf * self.nd)
        self.flat_counts = np.bincount(self.ss_key, minlength=n_ss)
        # the visit's median delta-aperture predicts each detector's aperture loss far better than the
        # detector's own few stars do (measured on simulated tracts: 1.5-1.9 vs 7-9 mmag rms)
        ok = np.isfinite(inp.obs_delta_aper)
        self.visit_delta_aper = group_median(inp.obs_visit[ok], inp.obs_delta_aper[ok], self.nv)

    # per-observation arrays that are cheap to compute are computed when needed rather than kept
    # (80 MB each per 10^7 observations); ``idx`` selects observations (index array, bool mask or slice)
    def _err2(self, idx=slice(None)) -> np.ndarray:
        """Variance with the floor, sigma^2 + sigma0_phot^2, mag^2."""
        return self.inp.obs_err[idx].astype(np.float64) ** 2 + self.cfg.sigma0_phot ** 2

    def _weight(self, idx=slice(None)) -> np.ndarray:
        """Weight 1 / (sigma^2 + sigma0_phot^2), 1/mag^2."""
        return 1.0 / self._err2(idx)

    def _dsecz(self, idx=slice(None)) -> np.ndarray:
        """sec z (clipped to the LUT's range) minus its (visit, detector) pair's mean."""
        return np.clip(self.inp.obs_secz[idx], *self.inp.secz_range) - self.pair_secz[self.obs_pair[idx]]

    def _initial_state(self) -> None:
        inp, prev, lay = self.inp, self.prev, self.layout
        std_p = lay.standard_vector(inp.std)
        if prev is None:
            std_p[lay.aper] = [self.cfg.aper_corr_input_slopes.get(b, 0.0) for b in inp.bands]
            self.p_prev = std_p.copy()
            known = np.isfinite(self.visit_delta_aper)
            self.aper_pivot = np.nan_to_num(group_median(inp.visit_band[known], self.visit_delta_aper[known], self.nb))
            self.cuts = np.array([[self.cfg.cut("exp_gray_photometric_cut", b), self.cfg.cut("exp_gray_high_cut", b),
                                   self.cfg.cut("exp_var_gray_photometric_cut", b)] for b in inp.bands])
        else:
            self.p_prev = self._align_previous_vector(prev, std_p)
            self.aper_pivot = prev.aper_pivot.copy()
            self.cuts = prev.cuts.copy()
        unbounded = np.tile([-np.inf, np.inf], (self.nb, 1))
        self.aper_range = unbounded if prev is None or prev.aper_range is None else prev.aper_range.copy()
        self.superstar = self._pinned_flat(self.p_prev)
        self.superstar_at_start = self.superstar.copy()
        self.superstar_err = np.full(self.superstar.size, np.nan)
        self.superstar_n = np.zeros(self.superstar.size, dtype=np.int64)
        self._initial_sub_ccd()
        self.visit_aper_x = np.nan_to_num(self.visit_delta_aper - self.aper_pivot[inp.visit_band])
        self._set_aper_feature()
        self.std_p = std_p

    def _set_aper_feature(self) -> None:
        """The curvature feature per visit (mag^2) for the aperture range in force."""
        vb = self.inp.visit_band
        self.visit_aper_q = aperture_curvature_feature(self.visit_aper_x, self.aper_range[vb, 0],
                                                       self.aper_range[vb, 1])

    def _fitted_aper_range(self, sel: np.ndarray) -> np.ndarray:
        """(n_bands, 2) lowest and highest delta-aperture offset (mag) among the visits with observations
        in ``sel`` and a measured delta-aperture; bands without any keep their range in force."""
        inp = self.inp
        used = np.zeros(self.nv, dtype=bool)
        used[inp.obs_visit[sel]] = True
        used &= np.isfinite(self.visit_delta_aper)
        out = self.aper_range.copy()
        lo, hi = group_range(inp.visit_band[used], self.visit_aper_x[used], self.nb)
        seen = lo <= hi
        out[seen, 0], out[seen, 1] = lo[seen], hi[seen]
        return out

    def _initial_sub_ccd(self) -> None:
        """The sub-detector superstar shape in force (the previous cycle's, else 0), ``sub_ccd``, and a
        copy of it, ``sub_ccd_at_start`` (None at order 0), which :meth:`_m_const` evaluates per
        observation when needed."""
        order = self.cfg.superstar_sub_ccd_order
        self.sub_order = order if self.inp.obs_uv is not None else 0
        nc = subccd.n_coeffs(self.sub_order)
        self.sub_ccd = np.zeros((self.superstar.size, nc))
        prev = None if self.prev is None else self.prev.sub_ccd
        if self.sub_order > 0 and prev is not None:
            prev = prev.reshape(self.superstar.size, -1)
            k = math.isqrt(prev.shape[1]) - 1
            m = min(k, self.sub_order) + 1
            old = prev.reshape(-1, k + 1, k + 1)[:, :m, :m]
            grid = self.sub_ccd.reshape(-1, self.sub_order + 1, self.sub_order + 1)
            grid[:, :m, :m] = old
            self.sub_ccd = subccd.remove_centre(grid.reshape(self.superstar.size, nc), self.sub_order)
        self.sub_ccd_at_start = self.sub_ccd.copy() if self.sub_order > 0 else None

    def _align_previous_vector(self, prev: FitState, std_p: np.ndarray) -> np.ndarray:
        lay = self.layout
        old = ParamLayout(len(prev.night_ids), lay.n_wash, lay.n_filters, lay.n_bands)
        p = std_p.copy()
        pos = np.searchsorted(prev.night_ids, self.night_ids)
        pos = np.clip(pos, 0, max(len(prev.night_ids) - 1, 0))
        same = prev.night_ids[pos] == self.night_ids if len(prev.night_ids) else np.zeros(len(self.night_ids), bool)
        for k in range(6):
            p[lay.atm(k)][same] = prev.p[old.atm(k)][pos[same]]
        p[6 * lay.n_nights:] = prev.p[6 * old.n_nights:]
        return p

    def _aper_correction(self, p: np.ndarray) -> np.ndarray:
        """Aperture correction per visit (mag): slope x + curvature q(x), x the visit's delta-aperture
        offset from its band's pivot, q the curvature feature of the range in force."""
        lay, vb = self.layout, self.inp.visit_band
        return p[lay.aper][vb] * self.visit_aper_x + p[lay.aper2][vb] * self.visit_aper_q

    def _m_const(self, idx) -> np.ndarray:
        """m_const (mag) of the observations ``idx`` (index array, bool mask or slice), with the
        sub-detector shape in force at the cycle's start (evaluated here rather than kept per
        observation)."""
        m = self.inp.obs_mag[idx] + self.inp.zp_ab
        if self.sub_order > 0:
            m += subccd.evaluate(self.sub_ccd_at_start, self.ss_key[idx], self.inp.obs_uv[idx], self.sub_order)
        return m

    def _sed_obs(self, idx=slice(None)) -> np.ndarray:
        """SED slope F' (1/nm) of the observations ``idx`` from the star slopes ``self.sed``: 0 before
        they are known and without the chromatic correction (gathered when needed rather than kept)."""
        if self.sed is None or not self.cfg.chromatic_correction:
            return np.zeros(self.inp.n_obs)[idx]
        return self.sed[self.inp.obs_star[idx], self.obs_band[idx]]

    def _data(self, sel: np.ndarray | None) -> FitData:
        """FitData over the observations ``sel`` (None: all), with compact groups and the current SED
        slopes."""
        inp = self.inp
        idx = slice(None) if sel is None else sel
        group = self.group[idx]
        ug, g = np.unique(group, return_inverse=True)
        g = g.astype(np.int32)
        return FitData(
            pair=self.obs_pair[idx], dsecz=self._dsecz(idx), weight=self._weight(idx), group=g,
            m_const=self._m_const(idx), sed_slope=self._sed_obs(idx), i10_std=inp.i10_std[self.obs_band[idx]],
            visit=inp.obs_visit[idx], band=self.obs_band[idx], aper_x=self.visit_aper_x[inp.obs_visit[idx]],
            aper_q=self.visit_aper_q[inp.obs_visit[idx]],
            chrom_key=self.chrom_key[idx], chrom_counts=self.chrom_counts, flat_key=self.ss_key[idx],
            flat_counts=self.flat_counts,
            pair_filter=inp.filter_lut[inp.visit_filter[self.pair_visit]],
            pair_detector=inp.detector_lut[self.pair_detector], pair_secz=self.pair_secz,
            pair_pmb=inp.visit_pmb[self.pair_visit], pair_visit=self.pair_visit, visit_night=self.visit_night,
            visit_dt=self.visit_dt, visit_wash=self.visit_wash, visit_qe_dt=self.visit_qe_dt,
            visit_filter=inp.visit_filter, n_groups=len(ug), n_bands=self.nb, aper_range=self.aper_range,
        )

    def _model(self) -> Chisq:
        """The forward model over every observation (cached for the current SED slopes)."""
        cached = getattr(self, "_model_cache", None)
        if cached is None or cached[0] is not self.sed:
            free = np.zeros(self.layout.size, dtype=bool)
            model = Chisq(self._data(None), self.inp.passbands, self.layout, self.inp.std, free,
                          chromatic=self.cfg.chromatic_correction)
            self._model_cache = (self.sed, model)
        return self._model_cache[1]

    def _magnitudes(self, p: np.ndarray, with_delta: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """(m_std, delta_std) of every observation with the current SED slopes (delta_std None without
        ``with_delta``)."""
        model = self._model()
        m, parts = model.magnitudes(p)
        i10_eff = parts[4]
        del parts  # the other observation arrays (I0, I10) before delta_std's temporaries
        if not with_delta:
            return m, None
        delta = (chromatic_correction(model.data.sed_slope, i10_eff, self.inp.i10_std[self.obs_band])
                 if self.cfg.chromatic_correction else np.zeros_like(m))
        return m, delta

    def _means(self, m: np.ndarray, sel: np.ndarray):
        """Weighted means per (star, band) over ``sel``: (mean, var_of_mean, n) flat arrays."""
        w = np.where(sel, self._weight(), 0.0)
        sw = np.bincount(self.group, w, minlength=self.n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(sw > 0, np.bincount(self.group, w * m, minlength=self.n_groups) / sw, np.nan)
            var = np.where(sw > 0, 1.0 / sw, np.nan)
        n = np.bincount(self.group, sel, minlength=self.n_groups)
        return mean, var, n

    def _egray(self, m: np.ndarray, mean: np.ndarray, var_mean: np.ndarray, in_mean: np.ndarray):
        """EGray = <m> - m and its variance: sigma^2 - sigma_<m>^2 for members of the mean (correlated
        with it), floored at sigma^2 / 2 so that an observation dominating its star's mean cannot get a
        vanishing variance and an unbounded weight; sigma^2 + sigma_<m>^2 for the others."""
        eg = mean[self.group] - m
        vm = var_mean[self.group]
        err2 = self._err2()
        var = err2 + vm
        member = np.subtract(err2, vm, out=vm)
        err2 *= 0.5
        np.maximum(member, err2, out=member)
        np.copyto(var, member, where=in_mean)
        return eg, var

    # -- SED slopes, colours, star flags -----------------------------------------------------
    def _sed_and_colour(self) -> None:
        inp, cfg = self.inp, self.cfg
        order = [inp.bands[i] for i in np.argsort(inp.lambda_std)]
        self.rules = {**default_rules(order), **cfg.sed_terms}
        coeffs = dict(cfg.sed_coefficients)
        missing = [b for b in inp.bands if b not in coeffs and self.rules.get(b)]
        if missing:
            derived = derive_coefficients(
                inp.bands, dict(zip(inp.bands, inp.lambda_std)), inp.std_wavelength,
                dict(zip(inp.bands, inp.std_throughput)), {b: self.rules[b] for b in missing}, cfg.sed_library,
                cfg.sed_intercept_used())
            coeffs.update(derived)
        self.sed_coeffs = coeffs
        self.star_flag = np.where(inp.star_reserved, F.STAR_RESERVED, 0).astype(np.int64)
        self.sed = None
        if self.prev is not None:
            self.star_flag |= self.prev.star_flag & F.STAR_VARIABLE
            self._set_sed(self.prev.mean_mags)

    def _set_sed(self, mean_mags: np.ndarray) -> None:
        """SED slopes (frozen for the cycle) and colour cuts from mean magnitudes (n_stars, n_bands)."""
        inp = self.inp
        lam = dict(zip(inp.bands, inp.lambda_std))
        raw = sed_slopes(mean_mags, inp.bands, lam, self.rules, self.sed_coeffs)
        self.sed = fill_median(raw)
        bad = np.zeros(self.ns, dtype=bool)
        col = {b: i for i, b in enumerate(inp.bands)}
        for colour, (lo, hi) in self.cfg.star_color_cuts.items():
            a, b = colour.split("-")
            if a in col and b in col:
                c = mean_mags[:, col[a]] - mean_mags[:, col[b]]
                with np.errstate(invalid="ignore"):
                    bad |= np.isfinite(c) & ((c < lo) | (c > hi))
        self.star_flag = (self.star_flag & ~F.STAR_BAD_COLOR) | np.where(bad, F.STAR_BAD_COLOR, 0)

    def _reflag_stars(self, good_obs: np.ndarray) -> None:
        """TOO_FEW_OBS: fewer than min_obs_per_band good observations in a required band (or in every band)."""
        inp, cfg = self.inp, self.cfg
        n = np.bincount(self.group, good_obs, minlength=self.n_groups).reshape(self.ns, self.nb)
        req = [inp.bands.index(b) for b in cfg.required_bands if b in inp.bands]
        ok = (n[:, req] >= cfg.min_obs_per_band).all(axis=1) if req else (n >= cfg.min_obs_per_band).any(axis=1)
        ok |= (self.star_flag & F.STAR_VARIABLE) != 0  # left out for what it is, not for its count
        self.star_flag = (self.star_flag & ~F.STAR_TOO_FEW_OBS) | np.where(ok, 0, F.STAR_TOO_FEW_OBS)

    def _good_star_obs(self) -> np.ndarray:
        """Observations of stars without flags other than RESERVED."""
        return (self.star_flag & ~F.STAR_RESERVED)[self.inp.obs_star] == 0

    # -- exposure selection ------------------------------------------------------------------
    def _visit_cut_arrays(self, cuts: np.ndarray):
        b = self.inp.visit_band
        return cuts[b, 0], cuts[b, 1], cuts[b, 2]

    def _relative(self, exp: ExpGray, cuts: np.ndarray) -> ExpGray:
        """Exposure grays measured from a too-positive visit of the same night and band, if any (see
        gray.night_gray_offset). A too-positive visit keeps its flag, unless two or more bands of its
        night have one and a fit follows: clouds then made the night's model too opaque, the visit is
        the night's clear reference, and the next fit, without the absorbed clouds, brings the model
        back to it. The final cycle has no fit to do that, so there the flag stays (measured on the
        small tract, seed 2, without the atmosphere reset of unfitted nights: a clouded night's
        too-positive g visits taken as photometric in the final cycle put the g stars 10 mmag off;
        3.4 with the flag kept).
        Small tract, seed 1: clear visits kept 89% -> 97%, cloudy ones rejected 100% -> 97%."""
        inp = self.inp
        offset, clouded_night = night_gray_offset(exp.gray, self.visit_night, inp.visit_band,
                                                  self.layout.n_nights, self.nb, cuts[inp.visit_band, 1])
        reference = clouded_night & (not self.final)
        keeps_flag = (exp.gray > cuts[inp.visit_band, 1]) & ~reference
        rel = np.where(keeps_flag, exp.gray, exp.gray - offset)
        return dataclasses.replace(exp, gray=rel)

    def _initial_selection(self) -> None:
        inp, cfg = self.inp, self.cfg
        self.obs_outlier = np.zeros(inp.n_obs, dtype=bool)
        if self.prev is None:
            m, _ = self._magnitudes(self.std_p, with_delta=False)  # SED slopes still 0
            good = self._good_star_obs()
            m_min = np.full(self.n_groups, np.inf)
            np.minimum.at(m_min, self.group[good], m[good])
            bright = good & (m - m_min[self.group] <= cfg.bright_obs_gray_max)
            mean, _, _ = self._means(m, bright)
            self._set_sed(mean.reshape(self.ns, self.nb))
            good = self._good_star_obs()
            eg = mean[self.group] - m
            n = np.bincount(inp.obs_visit[good], minlength=self.nv)
            with np.errstate(invalid="ignore", divide="ignore"):
                eg_init = np.bincount(inp.obs_visit[good], eg[good], minlength=self.nv) / n
            flag = np.zeros(self.nv, dtype=np.int64)
            flag[n == 0] |= F.EXP_NO_STARS
            flag[(n > 0) & (n < cfg.min_star_per_exp)] |= F.EXP_TOO_FEW_STARS
            flag[(n > 0) & (eg_init < cfg.exp_gray_initial_cut)] |= F.EXP_GRAY_TOO_NEGATIVE
        else:
            good = self._good_star_obs()
            n_any = np.bincount(inp.obs_visit[good], minlength=self.nv)
            prev_exp = ExpGray(self.prev.exp_gray, np.zeros(self.nv), self.prev.exp_gray_rms, np.zeros(self.nv),
                               self.prev.exp_n_good_stars)
            cuts = self.cuts.copy()
            if self.prev.atm_frozen:
                cuts[:, 0] = np.minimum(cuts[:, 0], cfg.exp_gray_initial_cut)
            flag = select_exposures(self._relative(prev_exp, cuts), n_any, *self._visit_cut_arrays(cuts),
                                    cfg.min_star_per_exp)
        flag[~inp.filter_in_lut[inp.visit_filter]] |= F.EXP_BAND_NOT_IN_LUT
        self.flag_before_nights = flag
        self.visit_flag, self.night_ok = calibratable_nights(flag, self.visit_night, inp.fit_band[inp.visit_band],
                                                             self.layout.n_nights, cfg.min_exp_per_night)
        self._reflag_stars(self._good_star_obs() & (self.visit_flag[inp.obs_visit] == 0))
        if self.prev is not None:
            self._focal_plane_outliers(self.p_prev, keep_model=False)

    def _photometric_good(self) -> np.ndarray:
        """Good observations of good stars (reserved included) on photometric visits, not outliers."""
        return self._good_star_obs() & (self.visit_flag[self.inp.obs_visit] == 0) & ~self.obs_outlier

    def _focal_plane_outliers(self, p: np.ndarray, keep_model: bool = True) -> None:
        """Per-visit MAD clip of EGray (FGCM_ALGORITHM.md 5.7), then re-flag stars; without
        ``keep_model``, the all-observation model is freed once the magnitudes are known."""
        m, _ = self._magnitudes(p, with_delta=False)
        if not keep_model:
            self._model_cache = None
        mean, _, _ = self._means(m, self._photometric_good())
        eg = mean[self.group]
        eg -= m
        del m, mean
        idx = np.flatnonzero(self._good_star_obs() & np.isfinite(eg))
        eg = eg[idx]
        out = mad_outliers(self.inp.obs_visit[idx], eg, self.nv, self.cfg.focal_plane_sigma_clip)
        del eg
        self.obs_outlier[idx[out]] = True
        self._reflag_stars(self._photometric_good())

    # -- the fit -----------------------------------------------------------------------------
    def _fit_selection(self) -> np.ndarray:
        inp = self.inp
        sel = (self._photometric_good() & ~self.obs_reserved & inp.fit_band[self.obs_band]
               & (self.star_flag[inp.obs_star] == 0))
        n = np.bincount(self.group[sel], minlength=self.n_groups)
        return sel & (n[self.group] >= 2)

    def _fit(self) -> None:
        inp, cfg, lay = self.inp, self.cfg, self.layout
        sel = self._fit_selection()
        self.fit_sel = sel
        self.classes = lay.class_of()
        self.lower, self.upper = lay.bounds(inp.std)
        p0 = self.p_prev.copy()
        if self.cycle < cfg.warm_start_from_cycle and not self.final:
            p0[: 6 * lay.n_nights] = self.std_p[: 6 * lay.n_nights]
        elif not self.final:
            # a night that is not fitted in this cycle goes back to the standard atmosphere, as the
            # reference's reset does: its previous values were fitted to a selection that has since
            # lost that night's clear visits (its clouds are often what the fit absorbed), and they
            # would hold its clear visits' grays away from zero for good
            atm = slice(0, 6 * lay.n_nights)
            p0[atm] = np.where(np.tile(self.night_ok, 6), p0[atm], self.std_p[atm])
        free = np.zeros(lay.size, dtype=bool)
        self.atm_frozen = self.cycle == 0 and cfg.freeze_std_atmosphere_cycle0 and not self.final
        if not self.final and sel.any():
            if not self.atm_frozen:
                for k in range(6):
                    free[lay.atm(k)] = self.night_ok
            free[lay.qe] = np.arange(lay.n_wash) >= 1
            free[lay.filt] = self._free_filters()
            if not self.atm_frozen:
                # with the atmosphere held at the standard, terms that correlate with airmass (seeing
                # grows with it; time trends mix nights) would absorb the extinction errors
                free[lay.qe_slope] = cfg.fit_qe_slope
                free[lay.aper] = free[lay.aper2] = cfg.aper_corr_fit
                if cfg.aper_corr_fit:
                    # the curvature acts only over the seeing range this fit sees (model.aperture_curvature_feature)
                    self.aper_range = self._fitted_aper_range(sel)
                    self._set_aper_feature()
            free[lay.chrom] = cfg.fit_ccd_chromaticity and cfg.chromatic_correction
            free[lay.flat] = True
        self.units = np.ones(lay.size)
        self.visit_cloud = np.zeros(len(self.visit_night))
        self._model_cache = None  # free the all-observation model while the fit set is in memory
        data = self._data(sel) if sel.any() else None
        # the per-visit cloud terms (Chisq, cloud_threshold) ride with the atmosphere
        cloud = cfg.cloud_term_threshold if free[: 6 * lay.n_nights].any() else 0.0
        p0, lower, upper, classes, free = self._with_cloud_terms(cloud, p0, free)
        kwargs = dict(chromatic=cfg.chromatic_correction, chromaticity_prior=cfg.ccd_chromaticity_prior_nm,
                      cloud_threshold=cloud)
        units = np.ones(len(p0))
        if free.any():
            probe = Chisq(data, inp.passbands, lay, inp.std, free, **kwargs)
            units, touched = step_units(probe, p0, classes)
            free &= touched
            self.units = units[: lay.size]
        self.free = free[: lay.size]
        if sel.any():
            chisq = Chisq(data, inp.passbands, lay, inp.std, free, **kwargs)
            n_free = int(free.sum())
            say(f"cycle {self.cycle}: fitting {n_free} parameters to {int(sel.sum())} observations "
                f"of {len(np.unique(inp.obs_star[sel]))} stars")
            outcome = minimize(chisq, p0, lower, upper, units,
                               0 if self.final else cfg.max_iter, cfg.fit_gradient_tolerance)
            self.p_fit, self.chi2, self.n_eval, self.status = (outcome.p[: lay.size], outcome.chi2_per_dof,
                                                               outcome.n_evaluations, outcome.status)
            if cloud:
                self.visit_cloud = outcome.p[lay.size:].copy()
        else:
            self.p_fit, self.chi2, self.n_eval, self.status = p0[: lay.size], float("nan"), 0, "no photometric data"

    def _with_cloud_terms(self, threshold: float, p0: np.ndarray, free: np.ndarray):
        """(p0, lower, upper, classes, free) of the fit vector, extended by one cloud term per visit
        (start 0, bounds [-CLOUD_TERM_BOUND, 0] mag) when ``threshold`` > 0."""
        if threshold <= 0:
            return p0, self.lower, self.upper, self.classes, free
        n = len(self.visit_night)
        return (np.concatenate([p0, np.zeros(n)]), np.concatenate([self.lower, np.full(n, -CLOUD_TERM_BOUND)]),
                np.concatenate([self.upper, np.zeros(n)]),
                np.concatenate([self.classes, np.full(n, "visit_cloud", dtype=object)]),
                np.concatenate([free, np.ones(n, dtype=bool)]))

    def _free_filters(self) -> np.ndarray:
        """Filter offsets are free only for the non-standard filters of a band (the first is standard)."""
        inp = self.inp
        free = np.zeros(self.nf, dtype=bool)
        seen: set[int] = set()
        for f in range(self.nf):
            b = int(inp.filter_band[f])
            free[f] = b in seen and inp.filter_in_lut[f]
            seen.add(b)
        return free

    # -- after the fit -----------------------------------------------------------------------
    def _after_fit(self) -> None:
        inp, cfg = self.inp, self.cfg
        m, self.delta = self._magnitudes(self.p_fit)
        if self.cycle == 0 and self.prev is None:
            self._focal_plane_outliers(self.p_fit)
        self.superstar = self._pinned_flat(self.p_fit)
        # store the pinned chromaticity, so a state rebuilt from the tables is the same vector
        self.p_fit = self.p_fit.copy()
        self.p_fit[self.layout.chrom] = pinned(self.p_fit[self.layout.chrom].reshape(self.nf, self.nd),
                                               self.chrom_counts.reshape(self.nf, self.nd)).reshape(-1)
        if not self.final:
            m = self._iterate_superstar(m)
            self.p_fit = self.p_fit.copy()
            self.p_fit[self.layout.flat] = self.superstar.reshape(-1)
        self._model_cache = None  # free the all-observation model before the gray steps
        self.m = m
        sel = self._photometric_good()
        mean, var_mean, n_good = self._means(m, sel)
        eg, egvar = self._egray(m, mean, var_mean, sel)
        self.mean, self.n_good_group = mean, n_good
        gray_sel = (self._good_star_obs() & ~self.obs_reserved & ~self.obs_outlier & np.isfinite(eg)
                    & (n_good[self.group] >= np.where(sel, 2, 1))
                    & (egvar < cfg.ccd_gray_max_star_err ** 2))
        npair = len(self.pair_visit)
        self._gray_gradient(eg, egvar, gray_sel)
        eg -= self._obs_gray_gradient()
        gray_sel &= ~self._detector_outliers(eg, egvar, gray_sel)
        idx = np.flatnonzero(gray_sel)
        self.ccd = ccd_gray(self.obs_pair[idx], npair, eg[idx], egvar[idx],
                            n_good[self.group[idx]].astype(np.float64), self.delta[idx],
                            cfg.min_star_per_ccd, cfg.max_ccd_gray_err)
        del idx
        self.exp = exp_gray(self.pair_visit, self.nv, self.ccd, self.nd)
        for _ in range(SECONDARY_GRAY_PASSES):
            before = int(self.ccd.good.sum())
            self.ccd = self._secondary_grays(m, n_good, gray_sel, eg, egvar)
            if int(self.ccd.good.sum()) == before:
                break
        good_any = self._good_star_obs() & ~self.obs_outlier
        n_any = np.bincount(inp.obs_visit[good_any], minlength=self.nv)
        self.cuts_used = self.cuts.copy()
        if self.atm_frozen:
            # grays of a frozen-atmosphere cycle still hold each night's atmosphere: only the initial
            # cut applies, so that a hazy night is not shut out of the fit for good
            self.cuts_used[:, 0] = min(cfg.exp_gray_initial_cut, float(self.cuts[:, 0].min()))
        exp_for_cut = self.exp if self.atm_frozen else self._relative(self.exp, self.cuts_used)
        flag = select_exposures(exp_for_cut, n_any, *self._visit_cut_arrays(self.cuts_used), cfg.min_star_per_exp)
        flag[~inp.filter_in_lut[inp.visit_filter]] |= F.EXP_BAND_NOT_IN_LUT
        self.post_flag, self.night_ok_post = calibratable_nights(
            flag, self.visit_night, inp.fit_band[inp.visit_band], self.layout.n_nights, cfg.min_exp_per_night)
        # the gray terms of the zero-points first (they do not depend on the sigmas), so that the
        # crunched star magnitudes use exactly the zero-points' gray
        self.sigma_fgcm, self.sigma_cal = np.zeros(self.nb), np.zeros(self.nb)
        self._zeropoints()
        self._sigmas(eg, egvar, sel)
        del eg, egvar
        self._next_cuts()
        self._star_mags(m, sel)
        self._sigma_cal()
        self._zeropoints()
        if not self.final and cfg.variable_nsigma > 0:
            self._flag_variables()

    def _flag_variables(self) -> None:
        """Flag VARIABLE the stars whose light curves on photometric visits, with the detector grays
        applied, are not constant (:func:`variability.variable_stars`, each observation's variance
        with this cycle's sigma_FGCM of its band); the flag holds from the next cycle on, so this
        cycle's products stay as fitted. The focal-plane outliers stay in the light curves: they are a
        large-amplitude variable's own extremes (the per-visit clip takes 70-80% of the observations of
        a 0.2 mag variable, and what is left looks constant)."""
        mc = self.crunched[0]
        idx = np.flatnonzero(self._good_star_obs() & (self.visit_flag[self.inp.obs_visit] == 0) & np.isfinite(mc))
        var = self._err2(idx) + self.sigma_fgcm[self.obs_band[idx]] ** 2
        # a survey of fewer bands than variable_min_bands tests in all it has
        variable = variable_stars(self.group[idx], self.ns, self.nb, mc[idx], var, self.cfg.variable_nsigma,
                                  min(self.cfg.variable_min_bands, self.nb))
        new = variable & (self.star_flag & F.STAR_VARIABLE == 0)
        self.star_flag |= np.where(variable, F.STAR_VARIABLE, 0)
        log.info("cycle %d: %d stars newly flagged variable (%d in all)", self.cycle, int(new.sum()),
                 int((self.star_flag & F.STAR_VARIABLE != 0).sum()))

    def _detector_outliers(self, eg: np.ndarray, egvar: np.ndarray, sel: np.ndarray) -> np.ndarray:
        """Observations whose EGray lies more than ``DETECTOR_CLIP_NSIG`` of their own error from the
        median of their (visit, detector) pair (an addition to the reference).

        A detector gray rests on 5-20 stars, so one variable or blended star shifts it by several mmag;
        the per-visit focal-plane clip does not catch it on a cloudy visit, whose spread across the
        detectors (patchiness) inflates the visit's MAD. Within a detector, after the gradient
        correction, the cloud is constant and the stars' own errors set the scale.
        """
        idx = np.flatnonzero(sel & np.isfinite(eg))
        med = group_median(self.obs_pair[idx], eg[idx], len(self.pair_visit))
        out = np.zeros(self.inp.n_obs, dtype=bool)
        out[idx] = np.abs(eg[idx] - med[self.obs_pair[idx]]) > DETECTOR_CLIP_NSIG * np.sqrt(egvar[idx])
        return out

    def _gray_gradient(self, eg: np.ndarray, egvar: np.ndarray, sel: np.ndarray) -> None:
        """Each visit's gray gradient across the focal plane, ``self.gray_gx``, ``self.gray_gy`` (mag/mm;
        applied per observation by :meth:`_obs_gray_gradient`).

        Clouds have structure across the field (a gradient of a 0.5 mag cloud can reach 0.25 mag/deg),
        so a detector's mean EGray is the gray at its stars' centroid, which misses the gray at the
        detector centre -- the zero-point's reference point -- by the gradient times the centroid's
        offset (several mmag for thick clouds). The gradient per visit is the weighted least-squares
        slope of EGray on the focal-plane offsets within detectors (each detector's own mean removed,
        so a cloud's detector-to-detector patchiness does not enter), from all its selected stars.
        Subtracting it refers every detector gray to the detector centre. An addition to the reference,
        whose sub-detector and focal-plane gray options serve the same end. Without positions
        (``obs_fp_offset`` None), no gradient.
        """
        off = self.inp.obs_fp_offset
        if off is None:
            self.gray_gx = self.gray_gy = None
            return
        idx = np.flatnonzero(sel & np.isfinite(off).all(axis=1) & np.isfinite(eg))
        npair, nv = len(self.pair_visit), self.nv
        p, w = self.obs_pair[idx], 1.0 / egvar[idx]
        sw = np.bincount(p, w, minlength=npair)
        dx, dy, de = (_centred(a, p, w, sw) for a in (off[idx, 0], off[idx, 1], eg[idx]))
        del idx
        v = compact_index(self.pair_visit, nv)[p]
        del p
        design = np.column_stack([dx, dy])
        del dx, dy
        normal, rhs = normal_equations(v, nv, design, w, de)
        del design, de, w
        sxx, sxy, syy = normal[:, 0, 0], normal[:, 0, 1], normal[:, 1, 1]
        sxe, sye = rhs[:, 0], rhs[:, 1]
        det = sxx * syy - sxy * sxy
        ok = (np.bincount(v, minlength=nv) >= GRADIENT_MIN_STARS) & (det > 1e-12 * np.maximum(sxx * syy, 1e-300))
        with np.errstate(invalid="ignore", divide="ignore"):
            self.gray_gx = np.where(ok, (syy * sxe - sxy * sye) / det, 0.0)
            self.gray_gy = np.where(ok, (sxx * sye - sxy * sxe) / det, 0.0)

    def _obs_gray_gradient(self) -> np.ndarray | float:
        """Per observation, its visit's gray gradient (:meth:`_gray_gradient`) times the observation's
        offset from its detector's centre, mag (0 where the position is unknown; the scalar 0 without
        positions). Computed when needed rather than kept (one observation array)."""
        off = self.inp.obs_fp_offset
        if off is None:
            return 0.0
        ov = self.inp.obs_visit
        g = self.gray_gx[ov] * np.nan_to_num(off[:, 0])
        g += self.gray_gy[ov] * np.nan_to_num(off[:, 1])
        g[~np.isfinite(off).all(axis=1)] = 0.0
        return g

    def _secondary_grays(self, m: np.ndarray, n_good: np.ndarray, gray_sel: np.ndarray, eg: np.ndarray,
                         egvar: np.ndarray) -> CcdGray:
        """Detector grays again for the detectors without a good one, adding stars that have no
        photometric observation in the band (an addition to the reference).

        Such a star has no standard mean, so the first pass cannot use it; but where some of its
        observations fall on detectors with a good gray, those observations corrected by that gray give
        it a mean (error: observation and gray errors). On a sky patch that only cloudy visits of a band
        cover, this is what gives a cloudy visit's sparse detectors enough stars for their own gray. The
        exposure grays and the photometric selection keep the first pass. Each pass can anchor more
        stars on the detectors the previous one made good (``SECONDARY_GRAY_PASSES``).
        """
        cfg, ccd = self.cfg, self.ccd
        npair = len(self.pair_visit)
        pair_good = ccd.good[self.obs_pair]
        err2 = self._err2()
        base = (self._good_star_obs() & ~self.obs_reserved & ~self.obs_outlier & (n_good[self.group] == 0)
                & (err2 < cfg.ccd_gray_max_star_err ** 2))
        if not (base & ~pair_good).any():
            return ccd
        anchor = base & pair_good
        w = np.where(anchor, 1.0 / (err2 + np.nan_to_num(ccd.err[self.obs_pair]) ** 2), 0.0)
        gradient = self._obs_gray_gradient()
        crunched = m + np.nan_to_num(ccd.gray[self.obs_pair]) + gradient
        mean2, var2, n2 = self._weighted_group_mean(crunched, w)
        del crunched, w, anchor
        extra = base & ~pair_good & (n2[self.group] > 0)
        del base
        eg2 = mean2[self.group] - m - gradient
        del gradient
        var_eg2 = err2 + var2[self.group]
        del err2
        extra &= np.isfinite(eg2) & (var_eg2 < cfg.ccd_gray_max_star_err ** 2)
        use = (gray_sel | extra) & ~pair_good
        idx = np.flatnonzero(use)
        del use, pair_good
        extra = extra[idx]
        values = np.where(extra, eg2[idx], eg[idx])
        variances = np.where(extra, var_eg2[idx], egvar[idx])
        del eg2, var_eg2
        group = self.group[idx]
        til = np.where(extra, n2[group], n_good[group]).astype(np.float64)
        new = ccd_gray(self.obs_pair[idx], npair, values, variances, til, self.delta[idx], cfg.min_star_per_ccd,
                       cfg.max_ccd_gray_err)
        take = ~ccd.good & new.good
        return CcdGray(*(np.where(take, getattr(new, f.name), getattr(ccd, f.name))
                         for f in dataclasses.fields(CcdGray)))

    def _weighted_group_mean(self, values: np.ndarray, w: np.ndarray):
        """Per (star, band) weighted mean of ``values`` with weights ``w`` (0 = left out): mean, variance
        of the mean, count of contributing observations."""
        sw = np.bincount(self.group, w, minlength=self.n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(sw > 0, np.bincount(self.group, w * values, minlength=self.n_groups) / sw, np.nan)
            var = np.where(sw > 0, 1.0 / sw, np.nan)
        return mean, var, np.bincount(self.group, w > 0, minlength=self.n_groups)

    def _iterate_superstar(self, m: np.ndarray) -> np.ndarray:
        """Re-estimate the superstar with the star means recomputed each time (FGCM_LESSONS.md 3); with
        the CCD chromaticity fitted, the chromaticity too, jointly per detector
        (:func:`superstar.superstar_chromaticity_update`); with ``superstar_sub_ccd_order`` >= 1, after
        each constant update, the sub-detector shape from the remaining EGray (:func:`subccd.fit_shape`).
        Updates ``self.p_fit``, ``self.sub_ccd`` and returns m_std."""
        cfg, lay = self.cfg, self.layout
        nk = self.superstar.size
        flat = self.superstar.reshape(-1).copy()
        chromatic = cfg.fit_ccd_chromaticity and cfg.chromatic_correction and bool(self.free[lay.chrom].any())
        nc = self.nf * self.nd
        shift = self.p_fit[lay.chrom].copy()
        if chromatic:
            model = self._model()
            i10_eff = model.effective_i10(self.p_fit)
            sed = model.data.sed_slope
            response = MC * sed / (1.0 + sed * i10_eff)
            del i10_eff, sed, model
        self._model_cache = None  # the all-observation model is not needed again in this cycle
        for _ in range(cfg.superstar_iterations):
            sel = self._photometric_good()
            mean, var_mean, n_good = self._means(m, sel)
            eg, egvar = self._egray(m, mean, var_mean, sel)
            use = (sel & ~self.obs_reserved & np.isfinite(eg) & (n_good[self.group] >= 2)
                   & (egvar < cfg.ccd_gray_max_star_err ** 2))
            idx = np.flatnonzero(use)
            eg_use, var_use = eg[idx], egvar[idx]
            del sel, eg, egvar, use
            change = 0.0
            if chromatic:
                # the shift per (filter, detector) with its gray partner, then the gray per epoch again
                _, b, _, _, _ = superstar_chromaticity_update(
                    self.chrom_key[idx], nc, eg_use, var_use, response[idx], shift,
                    cfg.ccd_chromaticity_prior_nm, cfg.superstar_sigma_clip)
                d_shift = pinned(b.reshape(self.nf, self.nd), self.chrom_counts.reshape(self.nf, self.nd)).reshape(-1)
                shift = shift + d_shift
                dm = response * d_shift[self.chrom_key]
                m += dm
                eg_use = eg_use - dm[idx]
                del dm
                change = np.max(np.abs(d_shift)) * 1e-3
            new, err, n, clipped = superstar_update(self.ss_key[idx], nk, eg_use, var_use, flat,
                                                    cfg.superstar_sigma_clip)
            delta = self._zero_mean_per_filter(new - flat)
            m += delta[self.ss_key]
            change = max(change, np.max(np.abs(delta)))
            flat = flat + delta
            # not in a cycle with the atmosphere frozen: its photometric set still holds clouded visits
            # (only the initial cut applies) and its residuals each night's atmosphere; measured on
            # seed 2 of the small tract, shapes from cycle 0 cost 10 % of the cloud rejection
            if self.sub_order > 0 and not self.atm_frozen:
                d_shape, _, _ = subccd.fit_shape(
                    self.ss_key[idx], nk, self.inp.obs_uv[idx], eg_use - delta[self.ss_key[idx]], var_use,
                    self.sub_order, cfg.superstar_sub_ccd_triangular, cfg.superstar_sigma_clip, outlier=clipped)
                d_obs = subccd.evaluate(d_shape, self.ss_key, self.inp.obs_uv, self.sub_order)
                m += d_obs
                self.sub_ccd = self.sub_ccd + d_shape
                change = max(change, float(np.max(np.abs(d_obs[idx]), initial=0.0)))
                del d_obs
            self.superstar_err, self.superstar_n = err, n
            if change < 1e-5:
                break
        self.superstar = flat.reshape(self.superstar.shape)
        self.p_fit = self.p_fit.copy()
        self.p_fit[lay.chrom] = shift
        self._model_cache = None  # m_const now holds the new sub-detector shape
        return m

    def _zero_mean_per_filter(self, delta: np.ndarray) -> np.ndarray:
        """Remove the focal-plane mean of a superstar increment per (epoch, filter), with the weights of
        the fit's constraint (:func:`params.pinned`): the mean is degenerate with the star magnitudes,
        and pinning it stops a drift from the asymmetric outlier clip across the iterations."""
        return pinned(delta.reshape(-1, self.nd), self.flat_counts.reshape(-1, self.nd)).reshape(-1)

    def _pinned_flat(self, p: np.ndarray) -> np.ndarray:
        """The superstar (n_epochs, n_filters, n_detectors), mag, from the fit vector."""
        u = p[self.layout.flat].reshape(-1, self.nd)
        return pinned(u, self.flat_counts.reshape(-1, self.nd)).reshape(self.n_epoch, self.nf, self.nd)

    def _sigmas(self, eg: np.ndarray, egvar: np.ndarray, sel: np.ndarray) -> None:
        cfg = self.cfg
        self.sigma_fgcm = np.full(self.nb, np.nan)
        self.repeatability = np.full(self.nb, np.nan)
        self.crunched_rep = np.full(self.nb, np.nan)
        mc = self.zp.gray[self.inp.obs_visit, self.inp.obs_detector]
        csel = sel & np.isfinite(mc)
        mc += self.m
        cmean, cvar, _ = self._means(np.where(csel, mc, 0.0), csel)
        ceg, cegvar = self._egray(mc, cmean, cvar, csel)
        self.crunched = (mc, cmean, csel)
        for b in range(self.nb):
            inb = sel & (self.obs_band == b)
            _, self.sigma_fgcm[b] = repeatability_and_sigma_fgcm(eg[inb], egvar[inb], cfg.sig_fgcm_max_err,
                                                                 cfg.sig_fgcm_max_egray)
            res = inb & self.obs_reserved
            self.repeatability[b], _ = repeatability_and_sigma_fgcm(eg[res], egvar[res], cfg.sig_fgcm_max_err,
                                                                    cfg.sig_fgcm_max_egray)
            cres = csel & (self.obs_band == b) & self.obs_reserved
            self.crunched_rep[b], _ = repeatability_and_sigma_fgcm(ceg[cres], cegvar[cres], cfg.sig_fgcm_max_err,
                                                                   cfg.sig_fgcm_max_egray)
        self.sigma_fgcm = np.where(np.isfinite(self.sigma_fgcm), self.sigma_fgcm, 0.05)

    def _next_cuts(self) -> None:
        cfg, inp = self.cfg, self.inp
        nxt = self.cuts.copy()
        for b in range(self.nb):
            use = (inp.visit_band == b) & (self.post_flag == 0)
            nxt[b, 2] = auto_var_cut(self.exp.rms[use], self.cuts[b, 2], cfg.auto_var_cut_nsig, cfg.cuts_only_tighten)
        if self.atm_frozen:
            self.next_cuts = nxt
            return
        for b in range(self.nb):
            use = (inp.visit_band == b) & (self.post_flag == 0) & (self.exp.n_good_stars >= cfg.min_star_per_exp)
            rep = self.repeatability[b] if cfg.use_repeatability_for_exp_gray_cuts else None
            nxt[b, :2] = auto_cuts(self.exp.gray[use], self.cuts[b, 0], self.cuts[b, 1], cfg.auto_photometric_cut_nsig,
                               cfg.auto_high_cut_nsig, cfg.auto_photometric_cut_step, cfg.cuts_only_tighten, rep)
        self.next_cuts = nxt

    def _star_mags(self, m: np.ndarray, sel: np.ndarray) -> None:
        mc, cmean, csel = self.crunched
        _, cvar, cn = self._means(np.where(csel, mc, 0.0), csel)
        shape = (self.ns, self.nb)
        self.mag_std = cmean.reshape(shape)
        self.mag_std_err = np.sqrt(cvar).reshape(shape)
        self.mag_std_raw = self.mean.reshape(shape)
        self.colour_mags = self._colour_mags().reshape(shape)
        self.n_good = cn.reshape(shape)
        self.n_total = np.bincount(self.group, minlength=self.n_groups).reshape(shape)

    def _colour_mags(self) -> np.ndarray:
        """Per (star, band) magnitudes for the next cycle's SED slopes and colour cuts (flat, mag): the
        photometric mean where there is one, else the mean over every observation whose visit has a
        zero-point, its detector's gray applied (an addition to the reference, whose missing colours
        take the band's median slope). A red star whose r visits were all cloudy otherwise gets a
        median g slope: on the small tract, seed 1, g stars lacking a photometric band were 3-5 mmag
        off against 1.9 for the others."""
        inp = self.inp
        need = np.flatnonzero(~np.isfinite(self.mean)[self.group])  # observations of those (star, band)
        crunched = self.zp.gray[inp.obs_visit[need], inp.obs_detector[need]] + self.m[need]
        calibrated = np.isfinite(crunched)
        weight, group = self._weight(need), self.group[need]
        out = self.mean
        # the focal-plane outliers last: a star seen in the band on one visit, clipped while that visit
        # still counted as photometric, has nothing else
        for use in (calibrated & ~self.obs_outlier[need], calibrated):
            mean = weighted_mean(group[use], crunched[use], weight[use], self.n_groups)[0]
            out = np.where(np.isfinite(out), out, mean)
        return out

    def _sigma_cal(self) -> None:
        inp, cfg = self.inp, self.cfg
        mc, cmean, csel = self.crunched
        self.sigma_cal = np.full(self.nb, np.nan)
        ov, od = inp.obs_visit, inp.obs_detector
        cand = np.flatnonzero(csel & self.obs_reserved)
        cand = cand[self.zp.tilings[ov[cand], od[cand]] >= 2]
        for b in range(self.nb):
            use = cand[self.obs_band[cand] == b]
            if len(use) < 10:
                continue
            ustar, star = np.unique(inp.obs_star[use], return_inverse=True)
            resid = mc[use] - cmean[self.group[use]]
            til = self.zp.tilings[ov[use], od[use]]
            term = self.sigma_fgcm[b] ** 2 / np.maximum(til - 1, 1) + self.zp.gray_var[ov[use], od[use]]
            star_mag = self.mag_std[ustar, b]
            self.sigma_cal[b] = sigma_cal(star, resid, inp.obs_err[use] ** 2, star_mag, term,
                                          tuple(cfg.sigma_cal_range), tuple(cfg.sigma_cal_fit_percentile))
        self.sigma_cal = np.where(np.isfinite(self.sigma_cal), self.sigma_cal, cfg.sigma_cal_range[0])

    # -- zero-points -------------------------------------------------------------------------
    def visit_atmosphere(self):
        return visit_atmosphere(self.p_fit, self.layout, self.inp.std, self.visit_night, self.visit_dt)

    def _zeropoints(self) -> None:
        inp, cfg, lay = self.inp, self.cfg, self.layout
        nv, nd = self.nv, self.nd
        atm = self.visit_atmosphere()
        self.atm = atm
        vv = np.repeat(np.arange(nv), nd)
        dd = np.tile(np.arange(nd), nv)
        in_lut = inp.filter_in_lut[inp.visit_filter[vv]]
        i0 = np.full(nv * nd, np.nan)
        i10 = np.full(nv * nd, np.nan)
        ok = in_lut & np.isfinite(inp.visit_det_secz.reshape(-1))
        if ok.any():
            secz = np.clip(inp.visit_det_secz.reshape(-1)[ok], *inp.secz_range)
            a, b = inp.passbands.integrals(
                inp.filter_lut[inp.visit_filter[vv[ok]]], inp.detector_lut[dd[ok]], atm.ln_pwv[vv[ok]],
                atm.o3[vv[ok]], atm.ln_tau[vv[ok]], atm.alpha[vv[ok]], secz, inp.visit_pmb[vv[ok]])
            i0[ok], i10[ok] = a, np.asarray(b) / np.asarray(a)
        u = self.p_fit[lay.chrom].reshape(self.nf, nd)
        self.ccd_chrom = pinned(u, self.chrom_counts.reshape(self.nf, nd))
        i10 = i10 + self.ccd_chrom[inp.visit_filter[vv], dd]
        self.visit_qe = (self.p_fit[lay.qe][self.visit_wash]
                         + self.p_fit[lay.qe_slope][self.visit_wash] * self.visit_qe_dt)
        filt = self.p_fit[lay.filt][inp.visit_filter]
        ss = self.superstar[self.visit_epoch[vv], inp.visit_filter[vv], dd]
        vb = inp.visit_band
        self.visit_aper = self._aper_correction(self.p_fit)
        static = (ss + (self.visit_qe + filt + self.visit_aper + 2.5 * np.log10(inp.visit_exptime))[vv]
                  + inp.zp_ab).reshape(nv, nd)
        full = self._per_detector
        exp = self.exp
        # recovery uses the configured variance cut (FGCM_ALGORITHM.md 5.8), not the automatic one,
        # which is meant for photometric visits and would refuse every patchy cloud
        var_cut = np.array([cfg.cut("exp_var_gray_photometric_cut", b) for b in inp.bands])[vb]
        recover_ok = ((exp.err <= cfg.exp_gray_err_recover_cut) & (exp.rms <= np.sqrt(var_cut))
                      & (exp.gray >= cfg.exp_gray_recover_cut))
        good_til = np.where(self.ccd.good, self.ccd.tilings * self.ccd.n_stars, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            exp_til = (np.bincount(self.pair_visit, good_til, minlength=nv)
                       / np.bincount(self.pair_visit, np.where(self.ccd.good, self.ccd.n_stars, 0), minlength=nv))
        surface = surface_err = None
        if cfg.exposure_gray_surface_order > 0 and inp.detector_xy is not None:
            surface, surface_err, _ = gray_surface(
                self.pair_visit, self.pair_detector, self.ccd.good, self.ccd.gray, self.ccd.err, nv,
                inp.detector_xy, cfg.exposure_gray_surface_order, cfg.min_ccd_per_exp)
        self.zp = compose(
            zeropoint_flags(self.post_flag, inp.fit_band[vb]), i0.reshape(nv, nd), i10.reshape(nv, nd), static,
            full(self.ccd.gray), full(self.ccd.err), full(self.ccd.good, False), full(self.ccd.tilings),
            full(self.ccd.delta_chrom), exp.gray, exp.err, exp.rms, exp.n_good_ccds, exp_til, recover_ok,
            self.sigma_fgcm[vb], self.sigma_cal[vb], cfg.min_ccd_per_exp,
            cfg.photometric_zeropoint_gray != "detector", surface, surface_err,
            vb if cfg.photometric_zeropoint_gray == "blend" else None)

    def _per_detector(self, values: np.ndarray, fill=np.nan) -> np.ndarray:
        """(n_visits, n_detectors) array from per-pair values, ``fill`` where a detector had no stars."""
        out = np.full((self.nv, self.nd), fill, dtype=np.asarray(values).dtype)
        out[self.pair_visit, self.pair_detector] = values
        return out

    # -- outputs -----------------------------------------------------------------------------
    def _outputs(self) -> CycleOutputs:
        inp, lay = self.inp, self.layout
        atm = self.atm
        n_phot_night = np.bincount(self.visit_night, (self.post_flag == 0) & inp.fit_band[inp.visit_band],
                                   minlength=lay.n_nights)
        converged = False
        if self.prev is not None:
            with np.errstate(invalid="ignore"):
                diff = self.prev.repeatability - self.repeatability
            converged = bool(np.all(~np.isfinite(diff) | (diff < self.cfg.convergence_tolerance)))
        fit_star_obs = self.fit_sel
        n_fit_stars = np.array([len(np.unique(inp.obs_star[fit_star_obs & (self.obs_band == b)]))
                                for b in range(self.nb)])
        state = FitState(
            p=self.p_fit.copy(), night_ids=self.night_ids, superstar=self.superstar.copy(),
            aper_pivot=self.aper_pivot.copy(), aper_range=self.aper_range.copy(), exp_gray=self.exp.gray.copy(),
            exp_gray_rms=self.exp.rms.copy(),
            exp_n_good_stars=self.exp.n_good_stars.copy(), star_flag=self.star_flag.copy(),
            mean_mags=self.colour_mags.copy(), cuts=self.next_cuts.copy(), repeatability=self.repeatability.copy(),
            atm_frozen=self.atm_frozen,
            sub_ccd=(self.sub_ccd.reshape(*self.superstar.shape, -1).copy() if self.sub_order > 0 else None),
        )
        return CycleOutputs(
            cycle=self.cycle, final=self.final, state=state, layout=lay, classes=self.classes, lower=self.lower,
            upper=self.upper, free=self.free, units=self.units, night_pivot=self.night_pivot,
            night_fitted=self.night_ok & (self.cycle > 0 or not self.cfg.freeze_std_atmosphere_cycle0),
            night_n_visits=np.bincount(self.visit_night, minlength=lay.n_nights), night_n_phot=n_phot_night,
            wash_start=self.wash_start, visit_night=self.visit_night, visit_epoch=self.visit_epoch,
            visit_flag=self.post_flag, visit_pwv=np.exp(atm.ln_pwv), visit_o3=atm.o3, visit_tau=np.exp(atm.ln_tau),
            visit_alpha=atm.alpha, visit_qe=self.visit_qe, visit_aper=self.visit_aper, visit_cloud=self.visit_cloud,
            ccd_chrom=self.ccd_chrom,
            exp=self.exp, pair_visit=self.pair_visit, pair_detector=self.pair_detector, ccd=self.ccd,
            superstar_applied=self.superstar_at_start, superstar_err=self.superstar_err.reshape(self.superstar.shape),
            superstar_n=self.superstar_n.reshape(self.superstar.shape),
            sub_ccd_applied=(None if self.sub_ccd_at_start is None
                             else self.sub_ccd_at_start.reshape(*self.superstar.shape, -1)),
            mag_std=self.mag_std, mag_std_err=self.mag_std_err, mag_std_raw=self.mag_std_raw, n_good=self.n_good,
            n_total=self.n_total, sed=self.sed, zeropoints=self.zp, chi2_per_dof=self.chi2,
            n_evaluations=self.n_eval, status=self.status, sigma_fgcm=self.sigma_fgcm, sigma_cal=self.sigma_cal,
            crunched_repeatability=self.crunched_rep, cuts_used=self.cuts_used, converged=converged,
            n_fit_stars=n_fit_stars,
        )


def _centred(values: np.ndarray, key: np.ndarray, w: np.ndarray, sw: np.ndarray) -> np.ndarray:
    """``values`` minus the ``w``-weighted mean of their ``key`` group (``sw`` the groups' weight sums)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return values - (np.bincount(key, w * values, minlength=len(sw)) / sw)[key]


def _first_ids(ids: np.ndarray, shown: int = 6) -> str:
    """'a, b, c' for a few ids, '+ N more' beyond ``shown``."""
    text = ", ".join(str(int(i)) for i in ids[:shown])
    return text + (f" + {len(ids) - shown} more" if len(ids) > shown else "")


def bounds_line(out: CycleOutputs) -> str | None:
    """One warning line naming the nightly atmosphere parameters that ended on a bound in this cycle's
    fit (FGCM_LESSONS.md 5: the data did not constrain them, e.g. ozone or PWV without the bands that
    see them), or None when none did. The same entries have ``fit_params.at_bound``."""
    on = nights_at_bound(out.layout, out.state.p, out.lower, out.upper, out.free, out.state.night_ids)
    parts = [f"{name} on {len(nights)} of {n_free} nights ({_first_ids(nights)})"
             for name, (nights, n_free) in on.items() if len(nights)]
    if not parts:
        return None
    return (f"cycle {out.cycle}: nightly atmosphere on a bound, poorly constrained by the data "
            f"(fit_params.at_bound): " + "; ".join(parts))


def summary_line(out: CycleOutputs, inp: CycleInputs) -> str:
    """One line per cycle: per band photometric visits, repeatability (mmag), sigma_FGCM (mmag)."""
    parts = []
    for b, band in enumerate(inp.bands):
        n_phot = int(((out.visit_flag == 0) & (inp.visit_band == b)).sum())
        rep = out.state.repeatability[b] * 1000
        parts.append(f"{band}: {n_phot} photometric visits, repeatability {rep:.2f} mmag, "
                     f"sigma_FGCM {out.sigma_fgcm[b] * 1000:.2f} mmag")
    return f"cycle {out.cycle} ({out.status}, chi2/dof {out.chi2_per_dof:.3f}): " + "; ".join(parts)

