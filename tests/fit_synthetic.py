"""A synthetic survey on the analytic stand-in passbands, with known truth, for the fit engine's tests.

Stars have stellar-like spectra (fgcm_db.fit.sed.stellar_family_fnu) integrated through the exact
observed passband (instrument x atmosphere at the star's own sec z), so the chromatic correction of
the fit is an approximation being tested, not an identity. Nights have their own atmosphere (ln PWV
and ln tau drifting linearly), some visits have clouds (gray, with a focal-plane gradient), detectors
have a gray sensitivity error (the superstar truth).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fgcm_db.fit.inputs import CycleInputs
from fgcm_db.fit.sed import stellar_family_fnu

from fit_standin import AnalyticPassbands


@dataclasses.dataclass
class Truth:
    """Truth per star (m_std per band, teff), per visit (cloud, atmosphere), per detector (dss)."""

    m_std: np.ndarray
    teff: np.ndarray
    cloud: np.ndarray
    night_pwv: np.ndarray
    night_tau: np.ndarray
    dss: np.ndarray
    zp: np.ndarray
    visit_ln_pwv: np.ndarray
    visit_ln_tau: np.ndarray


def make_survey(seed: int = 7, n_stars: int = 600, n_nights: int = 4, visits_per_night: int = 15,
                n_det: int = 8, cloudy_fraction: float = 0.2):
    """(CycleInputs, Truth) of a small survey in bands g, r, i."""
    rng = np.random.default_rng(seed)
    pb = AnalyticPassbands(n_detectors=n_det)
    lam = pb.lam
    bands = ["g", "r", "i"]
    nb = 3
    teff = np.exp(rng.uniform(np.log(3500.0), np.log(9000.0), n_stars))
    fnu = stellar_family_fnu(lam, teff)
    std_i0 = pb.i0_std
    ref = rng.uniform(15.5, 21.0, n_stars)
    # normalise so the r standard magnitude is ``ref``
    m_std_raw = -2.5 * np.log10(np.trapezoid(fnu[:, None, :] * (pb.std_passbands / lam)[None], lam, axis=2) / std_i0)
    scale = 10 ** (-0.4 * (ref - m_std_raw[:, 1]))
    fnu = fnu * scale[:, None]
    m_std = m_std_raw + (ref - m_std_raw[:, 1])[:, None]

    n_visits = n_nights * visits_per_night
    visit_night_id = 60000 + 3 * np.repeat(np.arange(n_nights), visits_per_night)
    frac = np.tile(np.linspace(0.0, 1.0, visits_per_night), n_nights)
    visit_mjd = visit_night_id + 0.25 + 0.35 * frac
    visit_band = np.tile(np.arange(visits_per_night) % nb, n_nights)
    visit_secz = 1.0 + 0.9 * np.abs(np.sin(np.pi * (frac - 0.45))) + rng.uniform(0, 0.05, n_visits)
    night_pwv0 = np.exp(rng.uniform(np.log(1.0), np.log(6.0), n_nights))
    night_pwv_slope = rng.normal(0, 0.6, n_nights)
    night_tau0 = np.exp(rng.uniform(np.log(0.02), np.log(0.12), n_nights))
    night_tau_slope = rng.normal(0, 0.6, n_nights)
    night = np.repeat(np.arange(n_nights), visits_per_night)
    dt = visit_mjd - (visit_night_id + 0.25 + 0.175)
    ln_pwv = np.log(night_pwv0)[night] + night_pwv_slope[night] * dt
    ln_tau = np.log(night_tau0)[night] + night_tau_slope[night] * dt
    o3 = np.full(n_visits, 290.0)
    alpha = np.full(n_visits, 1.1)
    pmb = 620.0 + rng.normal(0, 2, n_visits)
    cloudy = rng.uniform(size=n_visits) < cloudy_fraction
    cloud = np.where(cloudy, rng.uniform(0.03, 0.3, n_visits), 0.0)
    det_offset = np.linspace(-0.012, 0.012, n_det)
    dss = rng.normal(0, 0.01, n_det)
    cloud_grad = np.where(cloudy, rng.normal(0, 0.01, n_visits), 0.0)

    # each visit sees a random 70% of the stars on random detectors
    vis = rng.uniform(size=(n_visits, n_stars)) < 0.7
    obs_visit, obs_star = np.nonzero(vis)
    obs_det = rng.integers(0, n_det, len(obs_visit))
    obs_secz = visit_secz[obs_visit] + det_offset[obs_det] * visit_secz[obs_visit] + rng.normal(0, 0.002, len(obs_visit))
    f = visit_band[obs_visit]
    # exact observed integral of the star's spectrum
    trans = pb.transmission(ln_pwv[obs_visit], o3[obs_visit], ln_tau[obs_visit], alpha[obs_visit], obs_secz)
    s_obs = pb.inst[f, obs_det] * trans * np.exp(-0.2 * (pmb[obs_visit] - 620.0) / 620.0)[:, None]
    flux = np.trapezoid(fnu[obs_star] * s_obs / lam, lam, axis=1)
    m_true_obs = -2.5 * np.log10(flux)
    obs_cloud = cloud[obs_visit] + cloud_grad[obs_visit] * (obs_det - n_det / 2) / n_det
    m_nonoise = m_true_obs + dss[obs_det] + obs_cloud
    err = 0.002 + 0.02 * 10 ** (0.4 * (m_std[obs_star, f] - 21.0))
    obs_mag = m_nonoise + rng.normal(0, 1, len(obs_visit)) * err

    visit_det_secz = visit_secz[:, None] * (1.0 + det_offset[None, :])
    vv = np.repeat(np.arange(n_visits), n_det)
    dd = np.tile(np.arange(n_det), n_visits)
    i0_true, _ = pb.integrals(visit_band[vv], dd, ln_pwv[vv], o3[vv], ln_tau[vv], alpha[vv],
                              visit_det_secz.reshape(-1), pmb[vv])
    zp_true = (2.5 * np.log10(i0_true) - dss[dd] - (cloud[vv] + cloud_grad[vv] * (dd - n_det / 2) / n_det))
    inp = CycleInputs(
        obs_star=obs_star, obs_visit=obs_visit, obs_detector=obs_det, obs_mag=obs_mag, obs_err=err,
        obs_secz=obs_secz, obs_delta_aper=np.full(len(obs_visit), np.nan), star_id=np.arange(n_stars, dtype=np.int64) + 1,
        star_reserved=(np.arange(n_stars) % 10) == 3, visit_id=np.arange(n_visits, dtype=np.int64) + 1000,
        visit_band=visit_band, visit_filter=visit_band.copy(), visit_mjd=visit_mjd, visit_night_id=visit_night_id,
        visit_exptime=np.ones(n_visits), visit_pmb=pmb,
        visit_secz=visit_secz, visit_det_secz=visit_det_secz, detector_id=np.arange(n_det, dtype=np.int64),
        detector_lut=np.arange(n_det), filters=["HSC-G", "HSC-R", "HSC-I"], filter_band=np.arange(nb),
        filter_lut=np.arange(nb), filter_in_lut=np.ones(nb, bool), bands=bands, fit_band=np.ones(nb, bool),
        lambda_std=pb.lambda_std, i10_std=pb.i10_std, std_wavelength=lam, std_throughput=pb.std_passbands,
        zp_ab=0.0, secz_range=(1.0, 3.0), passbands=pb, std=pb.std,
    )
    truth = Truth(m_std=m_std, teff=teff, cloud=cloud, night_pwv=night_pwv0, night_tau=night_tau0, dss=dss,
                  zp=zp_true.reshape(n_visits, n_det), visit_ln_pwv=ln_pwv, visit_ln_tau=ln_tau)
    return inp, truth
