"""The arrays one fit cycle works on (loaded once per cycle) and the state carried between cycles."""

from __future__ import annotations

import dataclasses

import numpy as np

from .model import Passbands
from .params import StandardAtmosphere


@dataclasses.dataclass
class CycleInputs:
    """Everything a cycle needs, as numpy arrays with integer index arrays.

    Observations (n_obs): ``obs_star`` (index into stars), ``obs_visit`` (index into visits),
    ``obs_detector`` (index into detectors), ``obs_mag`` (instrumental mag per second), ``obs_err``
    (mag, without the floor), ``obs_secz`` (sec z of the star at the visit), ``obs_delta_aper`` (mag, -2.5 log10 of the ratio of the
    calibration aperture's flux to a larger one; NaN when unknown or noisy).
    Stars: ``star_id``, ``star_reserved``. Visits: ``visit_id``, ``visit_band`` (index into bands),
    ``visit_filter`` (index into filters), ``visit_mjd``, ``visit_night_id``, ``visit_exptime`` (s),
    ``visit_pmb`` (hPa, standard where unknown),
    ``visit_secz`` (boresight), ``visit_det_secz`` (n_visits, n_detectors: sec z at every detector centre).
    Detectors: ``detector_id``, ``detector_lut`` (index in the LUT's detector axis).
    Filters: ``filters`` (physical filter names), ``filter_band`` (index into bands), ``filter_lut``
    (index in the LUT), ``filter_in_lut`` (bool). Bands: ``bands``, ``fit_band`` (bool),
    ``lambda_std`` (nm), ``i10_std`` (nm per band, of the band's standard filter),
    ``std_wavelength`` (nm) with ``std_throughput`` (n_bands, n_lambda) standard passbands.
    ``zp_ab`` : AB constant of 1 count/s with I0 = 1, mag. ``secz_range`` : LUT sec z range.
    ``obs_fp_offset`` : (n_obs, 2) focal-plane position of each observation relative to its detector's
    centre, mm (NaN where the pixel position is unknown; None: no positions).
    ``obs_uv`` : (n_obs, 2) normalised pixel position on the detector, ``u = (x + 0.5 - W/2) / (W/2)``
    and ``v`` likewise with y and H (the sub-detector superstar's coordinates, -1..1; NaN unknown;
    None: no positions).
    ``detector_xy`` : (n_detectors, 2) detector centres in the focal plane, mm (None: unknown; the
    exposure gray is then a constant over the focal plane).
    """

    obs_star: np.ndarray
    obs_visit: np.ndarray
    obs_detector: np.ndarray
    obs_mag: np.ndarray
    obs_err: np.ndarray
    obs_secz: np.ndarray
    obs_delta_aper: np.ndarray
    star_id: np.ndarray
    star_reserved: np.ndarray
    visit_id: np.ndarray
    visit_band: np.ndarray
    visit_filter: np.ndarray
    visit_mjd: np.ndarray
    visit_night_id: np.ndarray
    visit_exptime: np.ndarray
    visit_pmb: np.ndarray
    visit_secz: np.ndarray
    visit_det_secz: np.ndarray
    detector_id: np.ndarray
    detector_lut: np.ndarray
    filters: list[str]
    filter_band: np.ndarray
    filter_lut: np.ndarray
    filter_in_lut: np.ndarray
    bands: list[str]
    fit_band: np.ndarray
    lambda_std: np.ndarray
    i10_std: np.ndarray
    std_wavelength: np.ndarray
    std_throughput: np.ndarray
    zp_ab: float
    secz_range: tuple[float, float]
    passbands: Passbands
    std: StandardAtmosphere
    obs_fp_offset: np.ndarray | None = None
    obs_uv: np.ndarray | None = None
    detector_xy: np.ndarray | None = None

    @property
    def n_obs(self) -> int:
        return len(self.obs_star)

    @property
    def n_stars(self) -> int:
        return len(self.star_id)

    @property
    def n_visits(self) -> int:
        return len(self.visit_id)

    @property
    def n_detectors(self) -> int:
        return len(self.detector_id)


@dataclasses.dataclass
class FitState:
    """What one cycle hands to the next (arrays aligned with the CycleInputs it was computed on).

    ``p`` fit vector; ``night_ids`` the nights of its nightly entries;
    ``superstar`` (n_epochs, n_filters, n_detectors) mag; ``aper_pivot`` per band (mag of
    delta-aperture); ``exp_gray``, ``exp_gray_rms``, ``exp_n_good_stars`` per visit (NaN/0
    unknown); ``star_flag`` per star; ``mean_mags`` (n_stars, n_bands) the magnitudes for the SED slopes and colour
    cuts (engine._colour_mags), mag (NaN missing);
    ``cuts`` (n_bands, 3) the low/high exposure-gray cuts (mag) and the variance cut (mag^2) for the
    next cycle; ``repeatability`` per band;
    ``atm_frozen``: the cycle held the atmosphere at the standard values (its grays still hold it);
    ``sub_ccd`` (n_epochs, n_filters, n_detectors, (order+1)^2) the sub-detector superstar's shape,
    Chebyshev coefficients in mag with value 0 at the detector centre (fgcm_db.fit.subccd; None: none);
    ``aper_range`` (n_bands, 2) the lowest and highest delta-aperture offset from the pivot (mag) among the
    visits whose fit set the aperture curvature (fgcm_db.fit.model.aperture_curvature_feature; None or
    infinite: unbounded).
    """

    p: np.ndarray
    night_ids: np.ndarray
    superstar: np.ndarray
    aper_pivot: np.ndarray
    exp_gray: np.ndarray
    exp_gray_rms: np.ndarray
    exp_n_good_stars: np.ndarray
    star_flag: np.ndarray
    mean_mags: np.ndarray
    cuts: np.ndarray
    repeatability: np.ndarray
    atm_frozen: bool = False
    sub_ccd: np.ndarray | None = None
    aper_range: np.ndarray | None = None
