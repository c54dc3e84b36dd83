"""Populations of simulated objects: stars (with variables and blend companions) and galaxies.

Star counts rise toward faint magnitudes (dN/dm ~ 10^(0.15 m) in the reference band, as for high
Galactic latitude fields at 17-24 mag); colours follow a mixture of halo/thick-disc turn-off stars
(near 5900 K), a few hot stars (A/BHB, white dwarfs) and M dwarfs whose share grows toward faint
magnitudes, which gives g-i from about -0.4 to 3 with the two familiar peaks near 0.7 and 2.5.
Each object's spectrum is a mix of two adjacent templates of a colour-ordered :class:`TemplateSet`:
``(1 - w) * fnu[k] + w * fnu[k + 1]``; template colours are supplied by the caller.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import astro
from .seds import stellar_model_fnu

KIND_STAR = 0
KIND_GALAXY = 1
KIND_COMPANION = 2


@dataclasses.dataclass
class Objects:
    """Parallel arrays, one entry per object.

    Attributes
    ----------
    object_id : int64; kind : KIND_STAR, KIND_GALAXY or KIND_COMPANION (a blend companion, only
    measured together with its primary); ra, dec : degrees; mag_ref : AB mag through the standard
    passband of the reference band (for a non-variable object, its true standard magnitude);
    template : int (lower template index); weight : mixing weight of template + 1; teff : K, the
    built-in model temperature that set the colour; size_arcsec : Gaussian sigma of the light profile
    before seeing (0 for stars); var_amp : mag (semi-amplitude of a sinusoidal variation, 0 = constant);
    var_period : days; var_phase : radians; companion : index of the blend companion, -1 if none.
    """

    object_id: np.ndarray
    kind: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    mag_ref: np.ndarray
    template: np.ndarray
    weight: np.ndarray
    teff: np.ndarray
    size_arcsec: np.ndarray
    var_amp: np.ndarray
    var_period: np.ndarray
    var_phase: np.ndarray
    companion: np.ndarray

    def __len__(self) -> int:
        return len(self.object_id)

    def variability_mag(self, index: np.ndarray, mjd: np.ndarray) -> np.ndarray:
        """Magnitude offset of objects ``index`` at times ``mjd`` (0 for constant objects)."""
        return self.var_amp[index] * np.sin(2 * np.pi * mjd / self.var_period[index] + self.var_phase[index])


def _positions(n: int, ra0: float, dec0: float, radius_deg: float, rng: np.random.Generator):
    """Uniform on the sphere within ``radius_deg`` of (ra0, dec0)."""
    cos_r = np.cos(np.radians(radius_deg))
    rho = np.degrees(np.arccos(1.0 - rng.random(n) * (1.0 - cos_r)))
    phi = rng.uniform(0.0, 2 * np.pi, n)
    # tangent-plane direction with the exact angular distance rho
    t = np.tan(np.radians(rho))
    return astro.tangent_plane_to_sky(np.degrees(t * np.cos(phi)), np.degrees(t * np.sin(phi)), ra0, dec0)


def _power_law_mags(n: int, lo: float, hi: float, slope: float, rng: np.random.Generator) -> np.ndarray:
    """Magnitudes with dN/dm ~ 10^(slope m) on [lo, hi] (inverse transform)."""
    a = 10.0 ** (slope * lo)
    b = 10.0 ** (slope * hi)
    return np.log10(a + rng.random(n) * (b - a)) / slope


def _star_teff(mag: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Model temperature (K) of stars of reference magnitude ``mag``: M dwarfs grow toward faint mags."""
    n = len(mag)
    p_m = 0.25 + 0.25 * np.clip((mag - 17.0) / 7.0, 0.0, 1.0)
    u = rng.random(n)
    hot = u < 0.03
    mdw = (u >= 0.03) & (u < 0.03 + p_m)
    teff = np.clip(5900.0 * np.exp(rng.normal(0.0, 0.12, n)), 3900.0, 8000.0)
    teff = np.where(hot, np.exp(rng.uniform(np.log(7500.0), np.log(15000.0), n)), teff)
    return np.where(mdw, rng.uniform(2700.0, 3900.0, n), teff)


def template_position(colour: np.ndarray, template_colours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lower index, weight) of the colour-ordered templates bracketing each ``colour``."""
    tc = np.maximum.accumulate(np.asarray(template_colours, dtype=np.float64))  # non-decreasing
    u = np.interp(colour, tc, np.arange(len(tc), dtype=np.float64))
    k = np.clip(np.floor(u).astype(np.int64), 0, max(len(tc) - 2, 0))
    return k, np.clip(u - k, 0.0, 1.0)


def make_objects(ra0: float, dec0: float, radius_deg: float, star_density: float, galaxy_density: float,
                 colour_of_teff, template_colours: np.ndarray, rng: np.random.Generator,
                 mag_range: tuple[float, float] = (16.0, 24.8), variable_fraction: float = 0.02,
                 blend_fraction: float = 0.03) -> Objects:
    """Stars, galaxies and blend companions within ``radius_deg`` of the field centre.

    Parameters
    ----------
    ra0, dec0, radius_deg : field centre and radius, degrees.
    star_density, galaxy_density : objects per square degree.
    colour_of_teff : callable, model temperature (K) -> the colour that orders the templates (mag).
    template_colours : (T,) colour of each template, non-decreasing.
    rng : the objects' random stream.
    mag_range : reference-band magnitude range of the stars.
    variable_fraction : fraction of stars that vary.
    blend_fraction : fraction of stars with a close (1-2.5 arcsec) fainter companion.
    """
    area = 2 * np.pi * (1 - np.cos(np.radians(radius_deg))) * (180 / np.pi) ** 2
    n_star = rng.poisson(star_density * area)
    n_gal = rng.poisson(galaxy_density * area)
    ra_s, dec_s = _positions(n_star, ra0, dec0, radius_deg, rng)
    ra_g, dec_g = _positions(n_gal, ra0, dec0, radius_deg, rng)
    mag_s = _power_law_mags(n_star, mag_range[0], mag_range[1], 0.15, rng)
    mag_g = _power_law_mags(n_gal, 18.5, mag_range[1], 0.3, rng)
    teff_s = _star_teff(mag_s, rng)
    teff_g = rng.uniform(3800.0, 6500.0, n_gal)  # galaxy colours g-i ~ 0.6-1.8
    size_g = np.clip(0.6 * 10 ** (-0.12 * (mag_g - 20.0)) * np.exp(rng.normal(0, 0.3, n_gal)), 0.15, 3.0)

    variable = rng.random(n_star) < variable_fraction
    var_amp = np.where(variable, np.exp(rng.uniform(np.log(0.03), np.log(0.5), n_star)), 0.0)
    var_period = np.exp(rng.uniform(np.log(0.1), np.log(20.0), n_star))
    var_phase = rng.uniform(0, 2 * np.pi, n_star)

    blended = np.flatnonzero(rng.random(n_star) < blend_fraction)
    n_comp = len(blended)
    sep = rng.uniform(1.0, 2.5, n_comp) / 3600.0
    pa = rng.uniform(0, 2 * np.pi, n_comp)
    ra_c, dec_c = astro.tangent_plane_to_sky(sep * np.sin(pa), sep * np.cos(pa), ra_s[blended], dec_s[blended])
    mag_c = mag_s[blended] + rng.uniform(0.5, 3.0, n_comp)
    teff_c = rng.uniform(3800.0, 6500.0, n_comp)
    size_c = rng.uniform(0.2, 0.8, n_comp)

    n = n_star + n_gal + n_comp
    companion = np.full(n, -1, dtype=np.int64)
    companion[blended] = n_star + n_gal + np.arange(n_comp)
    teff = np.concatenate([teff_s, teff_g, teff_c])
    k, w = template_position(colour_of_teff(teff), template_colours)
    zeros = np.zeros(n_gal + n_comp)
    return Objects(
        object_id=np.arange(1, n + 1, dtype=np.int64),
        kind=np.concatenate([np.full(n_star, KIND_STAR), np.full(n_gal, KIND_GALAXY),
                             np.full(n_comp, KIND_COMPANION)]).astype(np.int8),
        ra=np.concatenate([ra_s, ra_g, ra_c]), dec=np.concatenate([dec_s, dec_g, dec_c]),
        mag_ref=np.concatenate([mag_s, mag_g, mag_c]), template=k, weight=w, teff=teff,
        size_arcsec=np.concatenate([np.zeros(n_star), size_g, size_c]),
        var_amp=np.concatenate([var_amp, zeros]), var_period=np.concatenate([var_period, np.ones(n_gal + n_comp)]),
        var_phase=np.concatenate([var_phase, zeros]), companion=companion,
    )


def builtin_colour_of_teff(wavelength_nm: np.ndarray, blue: np.ndarray, red: np.ndarray):
    """A callable Teff (K) -> colour (mag) of the built-in model between passbands ``blue`` and ``red``.

    Parameters
    ----------
    wavelength_nm : (L,) nm; blue, red : (L,) photon-counting passbands on that grid.
    """
    grid = np.geomspace(2700.0, 15000.0, 200)
    fnu = stellar_model_fnu(wavelength_nm, grid)
    w = 1.0 / np.asarray(wavelength_nm, dtype=np.float64)
    colour = -2.5 * np.log10((fnu * blue * w).sum(1) / (blue * w).sum()) + 2.5 * np.log10(
        (fnu * red * w).sum(1) / (red * w).sum())

    def colour_of_teff(teff: np.ndarray) -> np.ndarray:
        return np.interp(np.log(teff), np.log(grid), colour)

    return colour_of_teff
