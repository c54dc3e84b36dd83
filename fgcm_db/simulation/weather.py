"""Weather of the simulation: atmosphere parameters per visit and gray cloud extinction.

Per night: ozone and the aerosol Angstrom exponent are constant; ln PWV and ln tau drift linearly
with time since the night boundary (FGCM's nightly model, FGCM_ALGORITHM.md 3.2) plus a small
per-visit noise that no nightly model captures (PWV kept within 0.15-3.5 mm and ozone within
225-305 DU, inside the default look-up-table grid); the pressure has a nightly mean, a slow drift and a
per-visit jitter. Clouds come in nights: on a "patchy" night most visits are non-photometric, with
a gray extinction drawn log-uniformly in [gray_min, gray_max] mag, a linear gradient across the
focal plane in a random direction, and a per-detector patchiness.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..sites import Site
from .survey import Survey


@dataclasses.dataclass
class Weather:
    """Per-visit atmosphere and clouds (arrays aligned with the survey's visits).

    Attributes
    ----------
    pwv : mm; o3 : Dobson; tau : aerosol optical depth at 775 nm; alpha : Angstrom exponent;
    pressure : hPa; cloud_mag : gray extinction at the boresight, mag (0 when photometric);
    cloud_gradient : (V, 2) mag per degree along (xi, eta) (east, north on the sky);
    cloud_patch : (V, D) extra gray per detector (index in the camera's order), mag;
    photometric : bool.
    """

    pwv: np.ndarray
    o3: np.ndarray
    tau: np.ndarray
    alpha: np.ndarray
    pressure: np.ndarray
    cloud_mag: np.ndarray
    cloud_gradient: np.ndarray
    cloud_patch: np.ndarray
    photometric: np.ndarray

    def cloud_at(self, visit_index: int, det_index: np.ndarray, xi_deg: np.ndarray, eta_deg: np.ndarray) -> np.ndarray:
        """Gray extinction (mag, >= 0) of one visit on detectors ``det_index`` at sky offsets (xi, eta)
        degrees from the boresight."""
        g = self.cloud_gradient[visit_index]
        return np.maximum(self.cloud_mag[visit_index] + g[0] * xi_deg + g[1] * eta_deg
                          + self.cloud_patch[visit_index, det_index], 0.0)


def make_weather(survey: Survey, site: Site, n_detectors: int, rng: np.random.Generator,
                 nonphotometric_fraction: float = 1 / 3,
                 gray_range_mag: tuple[float, float] = (0.02, 1.0), visit_noise: float = 0.03) -> Weather:
    """Draw the weather of every visit.

    Parameters
    ----------
    survey : the visits; site : observatory (standard pressure, UT boundary); n_detectors : detectors
    in the camera; rng : the weather stream;
    nonphotometric_fraction : expected fraction of cloudy visits; gray_range_mag : (min, max) cloud
    extinction, mag; visit_noise : rms of the per-visit ln PWV and ln tau noise.
    """
    nights, night_idx = np.unique(survey.night, return_inverse=True)
    nn = len(nights)
    n = len(survey)
    o3 = np.clip(rng.normal(265.0, 18.0, nn), 225.0, 305.0)
    alpha = rng.uniform(0.5, 1.6, nn)
    ln_tau0 = np.log(np.clip(np.exp(rng.normal(np.log(0.04), 0.5, nn)), 0.008, 0.25))
    ln_tau_slope = rng.normal(0.0, 0.8, nn)  # per day
    ln_pwv0 = np.log(np.clip(np.exp(rng.normal(np.log(1.5), 0.5, nn)), 0.3, 3.0))
    ln_pwv_slope = rng.normal(0.0, 1.2, nn)  # per day
    p0 = rng.normal(site.pressure_std_hpa, 1.5, nn)
    p_slope = rng.normal(0.0, 2.0, nn)  # hPa per day
    dut = survey.mjd + site.ut_boundary_days - np.floor(survey.mjd + site.ut_boundary_days)
    k = night_idx
    pwv = np.clip(np.exp(ln_pwv0[k] + ln_pwv_slope[k] * dut + rng.normal(0.0, visit_noise, n)), 0.15, 3.5)
    tau = np.exp(ln_tau0[k] + ln_tau_slope[k] * dut + rng.normal(0.0, visit_noise, n))
    pressure = p0[k] + p_slope[k] * dut + rng.normal(0.0, 0.3, n)

    p_cloudy_night = min(1.0, nonphotometric_fraction / 0.75)
    patchy = np.zeros(nn, dtype=bool)  # a fixed number of patchy nights, so small surveys get their share
    patchy[rng.choice(nn, size=int(round(nn * p_cloudy_night)), replace=False)] = True
    cloudy = patchy[k] & (rng.random(n) < 0.75)
    lo, hi = gray_range_mag
    cloud = np.where(cloudy, np.exp(rng.uniform(np.log(lo), np.log(hi), n)), 0.0)
    direction = rng.uniform(0, 2 * np.pi, n)
    slope = cloud * rng.uniform(0.05, 0.5, n)  # mag per degree, < cloud / 0.75 deg: never clipped
    gradient = np.column_stack([slope * np.cos(direction), slope * np.sin(direction)])
    patch = cloud[:, None] * rng.normal(0.0, 0.05, (n, n_detectors))
    return Weather(pwv=pwv, o3=o3[k], tau=tau, alpha=alpha[k], pressure=pressure, cloud_mag=cloud,
                   cloud_gradient=gradient, cloud_patch=patch, photometric=~cloudy)
