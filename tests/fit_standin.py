"""An analytic stand-in for the look-up table and a synthetic fit set, for the fit's array-level tests.

Gaussian filters (one curve per detector, shifted slightly) through a smooth model atmosphere
(Rayleigh, aerosol power law, a water band, an ozone band, a gray pressure factor), integrated on a
grid. Smooth in every variable, so finite differences of the chi-square are meaningful.
"""

from __future__ import annotations

import numpy as np

from fgcm_db.fit.chisq import FitData
from fgcm_db.fit.model import aperture_curvature_feature
from fgcm_db.fit.params import ParamLayout, StandardAtmosphere


class AnalyticPassbands:
    """I0, I1 (nm) of Gaussian filters x a smooth atmosphere; ``integrals`` matches model.Passbands."""

    def __init__(self, centres=(480.0, 620.0, 770.0), widths=(55.0, 60.0, 65.0), n_detectors=4):
        self.lam = np.linspace(350.0, 1000.0, 131)
        c = np.asarray(centres)[:, None, None] + 2.0 * np.arange(n_detectors)[None, :, None]
        w = np.asarray(widths)[:, None, None]
        self.inst = 0.8 * np.exp(-0.5 * ((self.lam - c) / w) ** 4)
        mean_inst = self.inst.mean(axis=1)
        t_std = self.transmission(*[np.full(1, v) for v in (np.log(2.0), 280.0, np.log(0.05), 1.0, 1.2)])
        s_std = mean_inst * t_std
        self.lambda_std = (s_std.sum(axis=1)) / (s_std / self.lam).sum(axis=1)
        self.std_passbands = s_std
        self.i0_std = np.trapezoid(s_std / self.lam, self.lam, axis=1)
        self.i10_std = np.trapezoid(s_std * (self.lam - self.lambda_std[:, None]) / self.lam, self.lam,
                                    axis=1) / self.i0_std
        self.std = StandardAtmosphere(pwv=2.0, o3=280.0, tau=0.05, alpha=1.0, pmb=620.0,
                                      ln_pwv_range=(np.log(0.1), np.log(20.0)), o3_range=(200.0, 400.0),
                                      ln_tau_range=(np.log(0.002), np.log(0.5)))

    def transmission(self, ln_pwv, o3, ln_tau, alpha, secz):
        lam = self.lam[None, :]
        ray = 0.0088 * (lam / 1000.0) ** -4.05
        aer = np.exp(ln_tau)[:, None] * (lam / 775.0) ** -np.asarray(alpha)[:, None]
        water = np.exp(ln_pwv)[:, None] * (0.03 * np.exp(-0.5 * ((lam - 930.0) / 25.0) ** 2)
                                           + 0.006 * np.exp(-0.5 * ((lam - 720.0) / 12.0) ** 2))
        ozone = (np.asarray(o3)[:, None] / 300.0) * 0.03 * np.exp(-0.5 * ((lam - 600.0) / 50.0) ** 2)
        return np.exp(-np.asarray(secz)[:, None] * (ray + aer + water + ozone))

    def integrals(self, filter_idx, detector_idx, ln_pwv, o3, ln_tau, alpha, secz, pmb):
        s = self.inst[filter_idx, detector_idx] * self.transmission(ln_pwv, o3, ln_tau, alpha, secz)
        factor = np.exp(-0.2 * (np.asarray(pmb) - 620.0) / 620.0)
        i0 = np.trapezoid(s / self.lam, self.lam, axis=1) * factor
        i1 = np.trapezoid(s * (self.lam - self.lambda_std[filter_idx][:, None]) / self.lam, self.lam,
                          axis=1) * factor
        return i0, i1


def synthetic_fit_data(passbands: AnalyticPassbands, seed: int = 3, n_stars: int = 300, n_nights: int = 3,
                       visits_per_night: int = 6, n_wash: int = 2):
    """A small fit set with random magnitudes (for gradient checks): (FitData, ParamLayout, p_test)."""
    rng = np.random.default_rng(seed)
    n_det = passbands.inst.shape[1]
    n_filters = passbands.inst.shape[0]
    n_visits = n_nights * visits_per_night
    visit_night = np.repeat(np.arange(n_nights), visits_per_night)
    visit_dt = np.tile(np.linspace(-0.15, 0.15, visits_per_night), n_nights)
    visit_filter = rng.integers(0, n_filters, n_visits)
    visit_wash = (np.arange(n_visits) * n_wash) // n_visits
    pair_visit = np.repeat(np.arange(n_visits), n_det)
    pair_detector = np.tile(np.arange(n_det), n_visits)
    pair_secz = 1.0 + rng.uniform(0.0, 0.8, n_visits)[pair_visit]
    pair_pmb = 615.0 + rng.uniform(0, 10, n_visits)[pair_visit]
    n_obs_per_visit = 60
    visit = np.repeat(np.arange(n_visits), n_obs_per_visit)
    det = rng.integers(0, n_det, len(visit))
    pair = visit * n_det + det
    star = rng.integers(0, n_stars, len(visit))
    band = visit_filter[visit]
    group = star * n_filters + band
    uniq, group = np.unique(group, return_inverse=True)
    # a visit offset range narrower than the offsets, so the curvature feature's linear continuation is used
    aper_x = rng.normal(0, 0.02, n_visits * n_det)[pair]
    data = FitData(
        pair=pair, dsecz=rng.normal(0, 0.01, len(visit)), weight=1.0 / rng.uniform(0.004, 0.02, len(visit)) ** 2,
        group=group, m_const=rng.normal(0, 0.02, len(visit)) + 18.0,
        sed_slope=rng.normal(-0.002, 0.002, n_stars)[star], i10_std=passbands.i10_std[band], visit=visit,
        band=band, aper_x=aper_x, aper_q=aperture_curvature_feature(aper_x, -0.02, 0.03),
        chrom_key=visit_filter[visit] * n_det + det,
        flat_key=visit_filter[visit] * n_det + det, flat_counts=np.bincount(visit_filter[visit] * n_det + det,
                                                                             minlength=n_filters * n_det),
        pair_filter=visit_filter[pair_visit], pair_detector=pair_detector, pair_secz=pair_secz, pair_pmb=pair_pmb,
        pair_visit=pair_visit, visit_night=visit_night, visit_dt=visit_dt, visit_wash=visit_wash,
        visit_qe_dt=visit_dt + 3.0 * visit_night, visit_filter=visit_filter, n_groups=len(uniq), n_bands=n_filters,
    )
    layout = ParamLayout(n_nights=n_nights, n_wash=n_wash, n_filters=n_filters, n_bands=n_filters, n_detectors=n_det)
    p = layout.standard_vector(passbands.std)
    p[layout.atm(0)] += rng.normal(0, 20, n_nights)
    p[layout.atm(1)] += rng.normal(0, 0.2, n_nights)
    p[layout.atm(2)] += rng.normal(0, 0.3, n_nights)
    p[layout.atm(3)] += rng.normal(0, 0.5, n_nights)
    p[layout.atm(4)] += rng.normal(0, 0.3, n_nights)
    p[layout.atm(5)] += rng.normal(0, 0.5, n_nights)
    p[layout.qe] = rng.normal(0, 0.01, n_wash)
    p[layout.qe_slope] = rng.normal(0, 0.001, n_wash)
    p[layout.aper] = rng.normal(-1.0, 0.2, n_filters)
    p[layout.aper2] = rng.normal(0, 1.0, n_filters)
    p[layout.chrom] = rng.normal(0, 1.0, n_filters * n_det)
    p[layout.flat] = rng.normal(0, 0.01, n_filters * n_det)
    return data, layout, p
