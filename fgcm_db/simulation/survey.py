"""Survey geometry: observing nights, visit times and bands, dithered pointings, seeing and sky, and
a fast look-up of which detector a focal-plane position falls on.

Visits are placed in the dark hours of each night (UT 5.5 h to 15.5 h, i.e. 19:30 to 05:30 in Hawaii
for the default site) while the field is within ``max_hour_angle_deg`` of the meridian; the mid-exposure
MJD (TAI) then fixes the hour angle through :func:`fgcm_db.astro.hour_angle_deg` exactly as ingest
recomputes it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.spatial import cKDTree

from .. import astro
from ..camera import Camera
from ..errors import FgcmDbError
from ..sites import Site
from .presets import Preset

#: Dark window of a night, UT hours (a Hawaiian night; other sites shift it by their longitude).
DARK_START_UT_H = 5.5
DARK_END_UT_H = 15.5
#: Nominal exposure times per band, s (HSC-SSP Wide: 150 s in g, r; 200 s in i, z, y).
NOMINAL_EXPTIME_S = {"g": 150.0, "r": 150.0, "i": 200.0, "z": 200.0, "y": 200.0}
#: Dark-sky surface brightness per band, AB mag/arcsec^2 (Mauna Kea, moonless).
DARK_SKY_MAG = {"g": 22.0, "r": 21.2, "i": 20.5, "z": 19.6, "y": 18.6}
#: Effective wavelengths used for the seeing's lambda^-0.2 scaling, nm.
BAND_WAVELENGTH_NM = {"g": 475.0, "r": 620.0, "i": 770.0, "z": 890.0, "y": 1000.0}


@dataclasses.dataclass
class Survey:
    """Per-visit arrays (one entry per visit, in time order).

    Attributes
    ----------
    visit : int64 ids; band : str; night : int (floor of MJD + UT boundary); mjd : MJD (TAI) at
    mid-exposure; exptime : s; ra, dec : boresight, degrees; rotation : boresight rotation angle,
    degrees; hour_angle : degrees; airmass : sec z at the boresight; zenith_distance : degrees;
    seeing_fwhm : arcsec at the boresight; sky_mag : sky surface brightness, AB mag/arcsec^2;
    wash_mjd : MJD of the mirror wash.
    """

    visit: np.ndarray
    band: np.ndarray
    night: np.ndarray
    mjd: np.ndarray
    exptime: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    rotation: np.ndarray
    hour_angle: np.ndarray
    airmass: np.ndarray
    zenith_distance: np.ndarray
    seeing_fwhm: np.ndarray
    sky_mag: np.ndarray
    wash_mjd: float

    def __len__(self) -> int:
        return len(self.visit)


def transit_mjd(mjd_guess: np.ndarray, ra_deg: float, site: Site) -> np.ndarray:
    """MJD (TAI) nearest ``mjd_guess`` at which ``ra_deg`` crosses the meridian (hour angle 0)."""
    mjd = np.asarray(mjd_guess, dtype=np.float64)
    for _ in range(3):
        mjd = mjd - astro.hour_angle_deg(mjd, ra_deg, site.longitude_deg) / 360.98564736629
    return mjd


def build_survey(preset: Preset, site: Site, field_ra: float, field_dec: float, start_mjd: float,
                 max_hour_angle_deg: float, rng: np.random.Generator) -> Survey:
    """Nights, visit times, bands, pointings, seeing and sky for a preset.

    Parameters
    ----------
    preset : survey size; site : observatory; field_ra, field_dec : field centre, degrees;
    start_mjd : first night (UT date at 0h), days; max_hour_angle_deg : visits only within this of
    the meridian; rng : the survey's random stream.
    """
    nights = np.sort(rng.choice(np.arange(int(preset.span_days)), size=preset.n_nights, replace=False))
    nights = int(start_mjd) + nights
    per_night = np.full(preset.n_nights, preset.n_visits // preset.n_nights)
    per_night[: preset.n_visits % preset.n_nights] += 1
    bands_all = np.array(preset.bands)
    visit_night, visit_band, visit_mjd = [], [], []
    for k, night in enumerate(nights):  # loop over nights (tens), vectorised within
        transit = transit_mjd(night + 0.5 * (DARK_START_UT_H + DARK_END_UT_H) / 24.0, field_ra, site)
        lo = max(night + DARK_START_UT_H / 24.0, transit - max_hour_angle_deg / 360.0)
        hi = min(night + DARK_END_UT_H / 24.0, transit + max_hour_angle_deg / 360.0)
        n = per_night[k]
        if hi - lo < 0.02:
            raise FgcmDbError(f"the field (RA {field_ra:g}) is not observable in the dark hours of night MJD "
                              f"{night}; choose [simulate] start_mjd or field_ra so that it transits at night")
        # visits spread through the usable window (other fields are observed in between)
        times = np.sort(rng.uniform(lo, hi, n))
        nb = min(preset.bands_per_night, len(bands_all))
        start = rng.integers(len(bands_all))
        chosen = bands_all[(start + np.arange(nb)) % len(bands_all)]
        # a few filter changes per night: contiguous blocks of visits per band
        visit_band.append(np.repeat(chosen, np.diff(np.linspace(0, n, nb + 1).round().astype(int))))
        visit_night.append(np.full(n, night))
        visit_mjd.append(times)
    band = np.concatenate(visit_band)
    mjd = np.concatenate(visit_mjd)
    n = len(mjd)
    nominal = np.array([NOMINAL_EXPTIME_S.get(b, 200.0) for b in band])
    short = rng.random(n) < 0.05  # a few short exposures
    exptime = np.round(np.where(short, 30.0, nominal) * (1.0 + rng.normal(0.0, 0.002, n)), 3)
    mjd = mjd + np.arange(n) * 1e-6  # strictly increasing
    # dithered boresights: uniform in a disc, random rotation angles
    r = preset.dither_radius_deg * np.sqrt(rng.random(n))
    phi = rng.uniform(0, 2 * np.pi, n)
    ra, dec = astro.tangent_plane_to_sky(r * np.cos(phi), r * np.sin(phi), field_ra, field_dec)
    rotation = rng.uniform(0.0, 360.0, n)
    ha = astro.hour_angle_deg(mjd, ra, site.longitude_deg)
    airmass = astro.secant_zenith(ha, dec, site.latitude_deg)
    zd = astro.zenith_distance_deg(ha, dec, site.latitude_deg)
    wl = np.array([BAND_WAVELENGTH_NM.get(b, 700.0) for b in band])
    seeing = np.clip(0.68 * np.exp(rng.normal(0.0, 0.2, n)), 0.45, 1.4) * airmass**0.6 * (wl / 620.0) ** -0.2
    moon = rng.uniform(0.0, 1.0, preset.n_nights)[np.searchsorted(nights, np.concatenate(visit_night))]
    blue = np.isin(band, ["g", "r"])
    sky = np.array([DARK_SKY_MAG.get(b, 19.0) for b in band]) - moon * np.where(blue, 1.0, 0.4)
    return Survey(
        visit=(1000 + 2 * np.arange(n)).astype(np.int64), band=band,
        night=np.concatenate(visit_night).astype(np.int64), mjd=mjd, exptime=exptime, ra=ra, dec=dec,
        rotation=rotation, hour_angle=ha, airmass=airmass, zenith_distance=zd, seeing_fwhm=seeing,
        sky_mag=sky, wash_mjd=float(nights[len(nights) // 2] - 0.5),
    )


def field_of_view_radius_deg(camera: Camera) -> float:
    """Angular radius of the circle enclosing every detector of ``camera``, degrees."""
    half_diag = 0.5 * np.hypot(camera.x_size * camera.pixel_size_mm, camera.y_size * camera.pixel_size_mm)
    return float(np.max(np.hypot(camera.fp_x, camera.fp_y) + half_diag)) * camera.plate_scale_arcsec_per_mm / 3600.0


class DetectorLocator:
    """Which detector a focal-plane position falls on, via the few nearest detector centres.

    Equivalent to :meth:`fgcm_db.camera.Camera.locate` for cameras of similar-sized detectors, but
    O(N log D) instead of O(N D).
    """

    def __init__(self, camera: Camera, n_nearest: int = 6):
        self.camera = camera
        self.n_nearest = min(n_nearest, len(camera))
        self.tree = cKDTree(np.column_stack([camera.fp_x, camera.fp_y]))

    def locate(self, fp_x: np.ndarray, fp_y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Detector id (-1 in a gap or off the camera) and pixel (x, y) of focal-plane positions, mm."""
        cam = self.camera
        fp_x = np.asarray(fp_x, dtype=np.float64)
        fp_y = np.asarray(fp_y, dtype=np.float64)
        _, idx = self.tree.query(np.column_stack([fp_x, fp_y]), k=self.n_nearest)
        idx = idx.reshape(len(fp_x), self.n_nearest)
        det = np.full(len(fp_x), -1, dtype=np.int32)
        px = np.full(len(fp_x), np.nan)
        py = np.full(len(fp_x), np.nan)
        for j in range(self.n_nearest - 1, -1, -1):  # nearest centre last, so it wins ties
            k = idx[:, j]
            x, y = cam.focal_plane_to_pixel(cam.detector[k], fp_x, fp_y)
            inside = (x >= -0.5) & (x < cam.x_size[k] - 0.5) & (y >= -0.5) & (y < cam.y_size[k] - 0.5)
            det[inside] = cam.detector[k][inside]
            px[inside] = x[inside]
            py[inside] = y[inside]
        return det, px, py
