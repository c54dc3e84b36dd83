"""A PS1-like reference catalogue: the simulated stars through a different instrument's passbands
(Pan-STARRS1 g, r, i, z, y of Tonry et al. 2012, ApJ 750, 99, as shipped by ``speclite``; they include
a mean atmosphere at airmass 1.2), with PS1-like errors and incompleteness, so that colour terms
between it and the simulated camera are real.

Errors: ``sigma_m = hypot(0.005, 0.02 * 10^(0.4 (m - 20)))`` mag (a ~5 mmag calibration floor and
photon noise reaching 0.05 mag at 21); a band is measured with probability ``1 / (1 + exp((m - 21.8)/0.25))``;
a star is listed when measured in r or i, and a random 2 % are missing (masks, bright neighbours).
"""

from __future__ import annotations

import numpy as np

from .. import photometry
from .objects import KIND_STAR, Objects
from .truth import flux_ratios, mixed

PS1_BANDS = ("g", "r", "i", "z", "y")


def ps1_passbands(wavelength_nm: np.ndarray) -> np.ndarray:
    """(5, L) PS1 g, r, i, z, y responses (speclite ``panstarrs-*``) resampled to ``wavelength_nm``."""
    import speclite.filters

    rows = []
    for b in PS1_BANDS:
        filt = speclite.filters.load_filter(f"panstarrs-{b}")
        rows.append(np.interp(wavelength_nm, np.asarray(filt.wavelength) / 10.0, np.asarray(filt.response),
                              left=0.0, right=0.0))
    return np.clip(np.array(rows), 0.0, None)


def make_refcat(objects: Objects, fnu_normalised: np.ndarray, wavelength_nm: np.ndarray,
                rng: np.random.Generator, noise: bool = True) -> dict:
    """Reference catalogue columns: ra, dec (degrees), ``{band}_flux``, ``{band}_fluxErr`` (nJy).

    Parameters
    ----------
    objects : the simulated objects (only non-variable stars are listed);
    fnu_normalised : (T, L) templates normalised to AB magnitude 0 in the reference standard passband;
    wavelength_nm : (L,); rng : the refcat stream; noise : False for exact fluxes (errors still given).
    """
    ratios = flux_ratios(fnu_normalised, ps1_passbands(wavelength_nm), wavelength_nm)
    stars = np.flatnonzero((objects.kind == KIND_STAR) & (objects.var_amp == 0))
    mags = objects.mag_ref[stars, None] - 2.5 * np.log10(mixed(ratios, objects.template[stars],
                                                                 objects.weight[stars]))
    n = len(stars)
    sigma = np.hypot(0.005, 0.02 * 10.0 ** (0.4 * (mags - 20.0)))
    measured = rng.random(mags.shape) < 1.0 / (1.0 + np.exp((mags - 21.8) / 0.25))
    listed = (measured[:, 1] | measured[:, 2]) & (rng.random(n) > 0.02)
    observed = mags + (rng.normal(0.0, 1.0, mags.shape) * sigma if noise else 0.0)
    flux = photometry.calib_mean_njy_per_count(observed)  # 10^(-0.4 (m - 31.4)) nJy
    flux_err = flux * sigma * np.log(10.0) / 2.5
    flux = np.where(measured, flux, np.nan)
    flux_err = np.where(measured, flux_err, np.nan)
    jitter = 0.02 / 3600.0  # 20 mas astrometric noise
    out = {
        "ra": objects.ra[stars] + (rng.normal(0, jitter, n) / np.cos(np.radians(objects.dec[stars])) if noise else 0.0),
        "dec": objects.dec[stars] + (rng.normal(0, jitter, n) if noise else 0.0),
    }
    for k, b in enumerate(PS1_BANDS):
        out[f"{b}_flux"] = flux[:, k]
        out[f"{b}_fluxErr"] = flux_err[:, k]
    out["object_id"] = objects.object_id[stars]
    return {k: np.asarray(val)[listed] for k, val in out.items()}
