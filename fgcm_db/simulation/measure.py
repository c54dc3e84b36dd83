"""Measurement of one visit's sources: PSF apertures, noise, detection and the pixel flags.

PSF: a Moffat profile, ``I(r) ~ (1 + r^2/a^2)^-beta`` with beta = MOFFAT_BETA, whose flux inside
radius r is ``1 - (1 + r^2/a^2)^(1 - beta)``, so the 12 and 17 pixel apertures lose a seeing-dependent
2-6 % (the "delta aperture" FGCM corrects). Galaxies are approximated by a Moffat of FWHM
``sqrt(FWHM_psf^2 + (2.3548 size)^2)``.

Noise (counts = ADU): ``var = F/g + A (sky/g + (rn/g)^2)`` for aperture area A, gain g and read noise
rn in electrons, plus a multiplicative floor (flat-field and other unmodelled errors) that is NOT in
the reported errors. Detection: PSF-flux S/N >= DETECTION_SNR.
"""

from __future__ import annotations

import numpy as np

MOFFAT_BETA = 2.8
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
APERTURE_RADII_PX = (12.0, 17.0)
READ_NOISE_E = 4.5
SATURATION_COUNTS = 45000.0
DETECTION_SNR = 5.0


def moffat_alpha(fwhm_px: np.ndarray) -> np.ndarray:
    """Moffat core width a (pixels) of a profile with this FWHM (pixels)."""
    return np.asarray(fwhm_px) / (2.0 * np.sqrt(2.0 ** (1.0 / MOFFAT_BETA) - 1.0))


def enclosed_fraction(radius_px: float, fwhm_px: np.ndarray) -> np.ndarray:
    """Fraction of a Moffat profile's flux within ``radius_px``."""
    a = moffat_alpha(fwhm_px)
    return 1.0 - (1.0 + (radius_px / a) ** 2) ** (1.0 - MOFFAT_BETA)


def peak_fraction(fwhm_px: np.ndarray) -> np.ndarray:
    """Fraction of the flux in the central pixel of a Moffat profile (per pixel at r = 0)."""
    a = moffat_alpha(fwhm_px)
    return (MOFFAT_BETA - 1.0) / (np.pi * a * a)


def aperture_variance(flux: np.ndarray, area_px: float | np.ndarray, sky: np.ndarray, gain: float) -> np.ndarray:
    """Variance (counts^2) of an aperture flux: source and sky Poisson noise plus read noise."""
    return np.maximum(flux, 0.0) / gain + area_px * (sky / gain + (READ_NOISE_E / gain) ** 2)


def measure_sources(rng: np.random.Generator, total: np.ndarray, fwhm_px: np.ndarray, sky: np.ndarray,
                    gain: float, floor_mag: float, noise: bool, local_bg_true: np.ndarray) -> dict:
    """Aperture and PSF fluxes with errors for sources of noise-free total counts ``total``.

    Parameters
    ----------
    rng : the visit's measurement stream; total : counts (total flux, before apertures);
    fwhm_px : FWHM of the source image, pixels; sky : sky counts per pixel; gain : e-/ADU;
    floor_mag : rms of the unreported multiplicative error, mag; noise : False for the noise-free mode;
    local_bg_true : residual background left by the global background subtraction, counts per pixel.

    Returns
    -------
    dict of arrays: ap12, ap12_err, ap17, ap17_err, psf, psf_err, local_bg, ef12, ef17.
    """
    n = len(total)
    ef = {r: enclosed_fraction(r, fwhm_px) for r in APERTURE_RADII_PX}
    floor = 10.0 ** (-0.4 * rng.normal(0.0, floor_mag, n)) if noise else np.ones(n)
    out = {"ef12": ef[12.0], "ef17": ef[17.0]}
    for r, name in zip(APERTURE_RADII_PX, ("ap12", "ap17")):
        area = np.pi * r * r
        true = total * ef[r]
        var = aperture_variance(true, area, sky, gain)
        meas = true * floor + local_bg_true * area
        if noise:
            meas = meas + rng.normal(0.0, 1.0, n) * np.sqrt(var)
        out[name], out[name + "_err"] = meas, np.sqrt(var)
    sigma = fwhm_px / FWHM_PER_SIGMA
    area_eff = 4.0 * np.pi * sigma**2
    var = aperture_variance(total, area_eff, sky, gain)
    psf = total * floor
    if noise:
        psf = psf * (1.0 + rng.normal(0.0, 0.005, n)) + rng.normal(0.0, 1.0, n) * np.sqrt(var)
    out["psf"], out["psf_err"] = psf, np.sqrt(var)
    # local background estimate from an annulus of ~2000 pixels
    bg_err = np.sqrt(sky / gain + (READ_NOISE_E / gain) ** 2) / np.sqrt(2000.0)
    out["local_bg"] = local_bg_true + (rng.normal(0.0, 1.0, n) * bg_err if noise else 0.0)
    return out
