"""Photometric constants shared by the simulator, the fit and the products.

A source of AB magnitude m and flux density f_nu = 10**(-0.4 (m + 48.6)) erg/s/cm^2/Hz gives, through a
system throughput S(lambda) (instrument x atmosphere, photon-counting), a count rate

    counts/s = A / (h g) * integral f_nu(lambda) S(lambda) dlambda / lambda

(A collecting area in cm^2, h Planck's constant in erg s, g the gain in electrons per count). For a
flat-f_nu source this is A f_nu I0 / (h g) with I0 = integral S(lambda)/lambda dlambda, hence

    m = -2.5 log10(counts/s) + ZP_AB(A, g) + 2.5 log10(I0),
    ZP_AB(A, g) = -48.6 - 2.5 log10(h g / A)     (FGCM's "zptABNoThroughput", Burke et al. 2018 sec. 3)

and the calibration of a detector, in nJy per count for an exposure of t seconds, is
``calib_mean = 10**(-0.4 (ZP_AB + 2.5 log10(I0) + 2.5 log10(t) - 31.4))``.
"""

from __future__ import annotations

import numpy as np

PLANCK_ERG_S = 6.62607015e-27  # exact (SI 2019), erg s
AB_ZERO_MAG = -48.6  # f_nu in erg/s/cm^2/Hz of an AB 0-magnitude source is 10**(-0.4*48.6)
NJY_AB_ZP = 31.4  # AB magnitude of a 1 nJy source: -2.5 log10(1e-9 / 3631) = 31.40 (CONTRACT.md uses 31.4 exactly)


def ab_zeropoint_no_throughput(mirror_area_m2: float, gain: float) -> float:
    """ZP_AB(A, g), mag: AB magnitude of 1 count/s through a passband with I0 = 1."""
    area_cm2 = mirror_area_m2 * 1e4
    return AB_ZERO_MAG - 2.5 * np.log10(PLANCK_ERG_S * gain / area_cm2)


def calib_mean_njy_per_count(zp_mag):
    """nJy per count of a detector whose zero-point (AB mag of 1 count) is ``zp_mag``."""
    return 10.0 ** (-0.4 * (np.asarray(zp_mag, dtype=np.float64) - NJY_AB_ZP))


def zp_mag_from_calib(calib_mean_njy):
    """Inverse of :func:`calib_mean_njy_per_count`: ``31.4 - 2.5 log10(calib_mean)``."""
    return NJY_AB_ZP - 2.5 * np.log10(np.asarray(calib_mean_njy, dtype=np.float64))
