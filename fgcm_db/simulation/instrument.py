"""The true instrument of the simulation: per-detector throughput curves and gray terms.

- chromatic: each (filter, detector) curve is the nominal curve shifted in wavelength by a random
  ~1 nm plus a radial term (interference filters shift with the angle of incidence), so the true
  per-detector passbands differ from the ones the look-up table knows. The shifts of a filter average
  to zero over the detectors: the look-up table's curves are the instrument's as measured on average,
  and a shift common to every detector would only redefine the standard passband, which no internal
  calibration can detect (the truth's standard magnitudes are through the look-up table's standard
  passband);
- gray, per detector: a QE scale (~1 %, shared by all filters, plus ~0.3 % per filter);
- gray, smooth over the focal plane: an illumination pattern per filter (radial ~1.5 % plus small
  tilts) and a linear gradient inside each detector (~0.3 %): together the "superstar flat";
- gray, in time: throughput declines linearly in magnitude (mirror dust) and one mirror wash restores it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..camera import Camera
from ..throughput import Throughput


@dataclasses.dataclass
class Instrument:
    """True instrument throughput.

    Attributes
    ----------
    wavelength_nm : (L,) nm.
    detector : (D,) detector ids (the camera's order).
    curves : physical_filter -> (D, L) true throughput per detector.
    edge_shift_nm : physical_filter -> (D,) wavelength shift applied to the nominal curve, nm.
    qe_scale : physical_filter -> (D,) gray QE factor.
    illumination : physical_filter -> (4,) coefficients (r^2, r^4, x, y) of the focal-plane pattern.
    gradient : (D, 2) linear in-detector gradient (per unit of the detector's half width/height).
    radius_mm : normalisation radius of the focal-plane pattern, mm.
    decline_mag_per_day : throughput loss rate, mag/day; start_mjd, wash_mjd : MJD of the first night
    and of the mirror wash (the loss restarts from 0 there).
    """

    wavelength_nm: np.ndarray
    detector: np.ndarray
    curves: dict
    edge_shift_nm: dict
    qe_scale: dict
    illumination: dict
    gradient: np.ndarray
    radius_mm: float
    decline_mag_per_day: float
    start_mjd: float
    wash_mjd: float

    def decline_mag(self, mjd: np.ndarray) -> np.ndarray:
        """Magnitudes lost to mirror dust at ``mjd`` (positive = fainter)."""
        mjd = np.asarray(mjd, dtype=np.float64)
        t0 = np.where(mjd >= self.wash_mjd, self.wash_mjd, self.start_mjd)
        return self.decline_mag_per_day * np.maximum(mjd - t0, 0.0)

    def illumination_factor(self, physical_filter: str, fp_x: np.ndarray, fp_y: np.ndarray) -> np.ndarray:
        """Smooth focal-plane flux factor at focal-plane positions (mm)."""
        a2, a4, ax, ay = self.illumination[physical_filter]
        u = np.asarray(fp_x, dtype=np.float64) / self.radius_mm
        v = np.asarray(fp_y, dtype=np.float64) / self.radius_mm
        r2 = u * u + v * v
        return 1.0 + a2 * r2 + a4 * r2 * r2 + ax * u + ay * v

    def gradient_factor(self, det_index: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """In-detector flux factor; ``xs``, ``ys`` in [-1, 1] across the detector (0 at its centre)."""
        g = self.gradient[det_index]
        return 1.0 + g[:, 0] * xs + g[:, 1] * ys


def make_instrument(throughput: Throughput, camera: Camera, physical_filters: list[str], start_mjd: float,
                    wash_mjd: float, rng: np.random.Generator, qe_rms: float = 0.01,
                    edge_shift_rms_nm: float = 1.0, decline_mag_per_day: float = 3e-4) -> Instrument:
    """Draw the true instrument.

    Parameters
    ----------
    throughput : nominal curves (the default or a user's); camera : detectors;
    physical_filters : filters simulated; start_mjd, wash_mjd : MJD; rng : the instrument's stream;
    qe_rms : rms of the per-detector gray QE scale; edge_shift_rms_nm : rms of the per-detector
    wavelength shift, nm; decline_mag_per_day : throughput loss rate, mag/day.
    """
    lam = throughput.wavelength_nm
    radius = float(np.max(np.hypot(camera.fp_x, camera.fp_y))) + 35.0
    rr = np.hypot(camera.fp_x, camera.fp_y) / radius
    qe_common = 1.0 + rng.normal(0.0, qe_rms, len(camera))
    curves, shifts, qe, illum = {}, {}, {}, {}
    for f in physical_filters:
        nominal = throughput.detector_curves(f, camera.detector)
        shift = rng.normal(0.0, edge_shift_rms_nm, len(camera)) - 1.0 * rr**2
        shift -= shift.mean()
        curves[f] = np.stack([np.interp(lam - s, lam, c, left=0.0, right=0.0) for s, c in zip(shift, nominal)])
        shifts[f] = shift
        qe[f] = qe_common * (1.0 + rng.normal(0.0, 0.3 * qe_rms, len(camera)))
        illum[f] = np.array([rng.normal(-0.015, 0.005), rng.normal(0.004, 0.002),
                             rng.normal(0.0, 0.004), rng.normal(0.0, 0.004)])
    return Instrument(lam, camera.detector.copy(), curves, shifts, qe, illum,
                      rng.normal(0.0, 0.003, (len(camera), 2)), radius, decline_mag_per_day,
                      float(start_mjd), float(wash_mjd))
