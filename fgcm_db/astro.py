"""Positional astronomy that every stage shares: sidereal time, hour angle, airmass, HEALPix ids,
tangent-plane projections. All angles in degrees unless a name ends in ``_rad``; arrays broadcast.
"""

from __future__ import annotations

import hpgeom
import numpy as np

#: HEALPix resolution of the ``healpix`` columns (nest scheme): nside 16384 = order 14, pixels of
#: ~12.9 arcsec. Coarser pixels are ``healpix >> (2 * (14 - order))`` in the nest scheme.
HEALPIX_ORDER = 14
HEALPIX_NSIDE = 2**HEALPIX_ORDER

#: TAI - UTC since 2017-01-01 (IERS Bulletin C), seconds. Visit MJDs are TAI; sidereal time needs UT1
#: (|UT1 - UTC| < 0.9 s, neglected: 0.004 deg of hour angle).
TAI_MINUS_UTC_S = 37.0


def gmst_deg(mjd_ut: np.ndarray | float) -> np.ndarray:
    """Greenwich mean sidereal time, degrees in [0, 360), for MJD (UT).

    IAU 1982 expression as given by Meeus (1998), Astronomical Algorithms, eq. 12.4.
    """
    d = np.asarray(mjd_ut, dtype=np.float64) - 51544.5  # days since J2000.0 (JD 2451545.0)
    t = d / 36525.0
    gmst = 280.46061837 + 360.98564736629 * d + 0.000387933 * t**2 - t**3 / 38710000.0
    return np.mod(gmst, 360.0)


def hour_angle_deg(mjd_tai: np.ndarray | float, ra_deg: np.ndarray | float, longitude_deg: float) -> np.ndarray:
    """Hour angle (local sidereal time - RA), degrees wrapped to (-180, 180].

    Parameters
    ----------
    mjd_tai : MJD (TAI) of the observation.
    ra_deg : right ascension, degrees.
    longitude_deg : observatory longitude, degrees, east positive.
    """
    lst = gmst_deg(np.asarray(mjd_tai, dtype=np.float64) - TAI_MINUS_UTC_S / 86400.0) + longitude_deg
    return wrap_180(lst - np.asarray(ra_deg, dtype=np.float64))


def wrap_180(angle_deg: np.ndarray | float) -> np.ndarray:
    """Wrap angles to (-180, 180] degrees."""
    a = np.mod(np.asarray(angle_deg, dtype=np.float64) + 180.0, 360.0) - 180.0
    return np.where(a == -180.0, 180.0, a)


def cos_zenith(ha_deg, dec_deg, latitude_deg) -> np.ndarray:
    """cos(zenith distance) = sin(dec) sin(lat) + cos(dec) cos(lat) cos(HA)."""
    ha, dec, lat = (np.radians(np.asarray(v, dtype=np.float64)) for v in (ha_deg, dec_deg, latitude_deg))
    return np.sin(dec) * np.sin(lat) + np.cos(dec) * np.cos(lat) * np.cos(ha)


def secant_zenith(ha_deg, dec_deg, latitude_deg) -> np.ndarray:
    """Plane-parallel airmass sec z (NaN below the horizon), as FGCM uses it."""
    c = cos_zenith(ha_deg, dec_deg, latitude_deg)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(c > 0, 1.0 / c, np.nan)


def zenith_distance_deg(ha_deg, dec_deg, latitude_deg) -> np.ndarray:
    """Zenith distance, degrees."""
    return np.degrees(np.arccos(np.clip(cos_zenith(ha_deg, dec_deg, latitude_deg), -1.0, 1.0)))


def healpix_nest(ra_deg, dec_deg, nside: int = HEALPIX_NSIDE) -> np.ndarray:
    """HEALPix nest pixel ids (int64) of positions in degrees."""
    return hpgeom.angle_to_pixel(
        nside, np.asarray(ra_deg, dtype=np.float64), np.asarray(dec_deg, dtype=np.float64),
        nest=True, lonlat=True, degrees=True,
    ).astype(np.int64)


def angular_separation_deg(ra1, dec1, ra2, dec2) -> np.ndarray:
    """Great-circle distance, degrees (haversine form: accurate at small separations)."""
    ra1, dec1, ra2, dec2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (ra1, dec1, ra2, dec2))
    s = np.sin((dec2 - dec1) / 2) ** 2 + np.cos(dec1) * np.cos(dec2) * np.sin((ra2 - ra1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(s, 0.0, 1.0))))


def sky_to_tangent_plane(ra_deg, dec_deg, ra0_deg, dec0_deg) -> tuple[np.ndarray, np.ndarray]:
    """Gnomonic projection about (ra0, dec0): standard coordinates (xi, eta), degrees.

    xi points to increasing RA (east), eta to increasing Dec (north).
    """
    ra, dec = np.radians(np.asarray(ra_deg, dtype=np.float64)), np.radians(np.asarray(dec_deg, dtype=np.float64))
    ra0, dec0 = np.radians(ra0_deg), np.radians(dec0_deg)
    cosc = np.sin(dec0) * np.sin(dec) + np.cos(dec0) * np.cos(dec) * np.cos(ra - ra0)
    xi = np.cos(dec) * np.sin(ra - ra0) / cosc
    eta = (np.cos(dec0) * np.sin(dec) - np.sin(dec0) * np.cos(dec) * np.cos(ra - ra0)) / cosc
    return np.degrees(xi), np.degrees(eta)


def tangent_plane_to_sky(xi_deg, eta_deg, ra0_deg, dec0_deg) -> tuple[np.ndarray, np.ndarray]:
    """Inverse gnomonic projection: standard coordinates (degrees) to (ra, dec) degrees, ra in [0, 360)."""
    xi, eta = np.radians(np.asarray(xi_deg, dtype=np.float64)), np.radians(np.asarray(eta_deg, dtype=np.float64))
    ra0, dec0 = np.radians(ra0_deg), np.radians(dec0_deg)
    denom = np.cos(dec0) - eta * np.sin(dec0)
    ra = ra0 + np.arctan2(xi, denom)
    dec = np.arctan2(np.sin(dec0) + eta * np.cos(dec0), np.hypot(xi, denom))
    return np.mod(np.degrees(ra), 360.0), np.degrees(dec)


def focal_plane_to_sky(fp_x_mm, fp_y_mm, boresight_ra_deg, boresight_dec_deg, rotation_deg,
                       plate_scale_arcsec_per_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Focal-plane position (mm) to sky (degrees) for an ideal (distortion-free) camera.

    The focal-plane axes are rotated by ``rotation_deg`` (position angle, east of north) from
    (east, north) on the sky.
    """
    scale = plate_scale_arcsec_per_mm / 3600.0
    theta = np.radians(rotation_deg)
    x = np.asarray(fp_x_mm, dtype=np.float64) * scale
    y = np.asarray(fp_y_mm, dtype=np.float64) * scale
    xi = x * np.cos(theta) - y * np.sin(theta)
    eta = x * np.sin(theta) + y * np.cos(theta)
    return tangent_plane_to_sky(xi, eta, boresight_ra_deg, boresight_dec_deg)


def sky_to_focal_plane(ra_deg, dec_deg, boresight_ra_deg, boresight_dec_deg, rotation_deg,
                       plate_scale_arcsec_per_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`focal_plane_to_sky`: sky (degrees) to focal plane (mm)."""
    xi, eta = sky_to_tangent_plane(ra_deg, dec_deg, boresight_ra_deg, boresight_dec_deg)
    theta = np.radians(rotation_deg)
    x = xi * np.cos(theta) + eta * np.sin(theta)
    y = -xi * np.sin(theta) + eta * np.cos(theta)
    scale = plate_scale_arcsec_per_mm / 3600.0
    return x / scale, y / scale
