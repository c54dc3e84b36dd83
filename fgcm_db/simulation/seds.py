"""Stellar spectra for the simulator: a built-in parametric stellar model (works offline) and a reader
for spectral libraries in Pickles format, gathered into a :class:`TemplateSet` ordered by colour.

The built-in model is a black body at the effective temperature with the features that shape
broad-band colours: blue/UV metal-line blanketing growing toward cool stars, the Balmer jump and
Balmer lines (strongest near 9500 K), Ca II H and K, and molecular (TiO, MgH) band depressions below
4200 K. Its coefficients are our own, tuned so that its HSC g-i colour spans the range of the Pickles
(1998) dwarfs A0V (-0.44) to M4V (2.96): -0.5 at 15000 K, 0.7 at 5800 K, 1.5 at 4300 K, 3.0 at 2700 K.
Its temperatures are therefore colour temperatures, not spectroscopic ones. Spectra are f_nu on a
common wavelength grid, in arbitrary units until normalised.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ..errors import FgcmDbError

#: hc / k, nm K (CODATA 2018).
HC_OVER_K_NM_K = 1.438777e7

#: Effective-temperature range of the built-in model, K.
TEFF_MIN_K = 2700.0
TEFF_MAX_K = 15000.0

# (centre nm, half-width nm, relative depth at the coolest temperature) of molecular bands.
_MOLECULAR_BANDS = ((497.0, 15.0, 0.35), (655.0, 40.0, 0.75), (717.0, 10.0, 0.40),
                    (770.0, 15.0, 0.35), (850.0, 15.0, 0.25))
# Balmer line centres, nm.
_BALMER_LINES = (656.28, 486.13, 434.05, 410.17, 397.01)


@dataclasses.dataclass
class TemplateSet:
    """Spectral templates on a wavelength grid, sorted from blue to red.

    Attributes
    ----------
    wavelength_nm : (L,) nm.
    fnu : (T, L) f_nu, arbitrary per-template units (normalised later by the caller).
    names : (T,) template names (``teff_5800`` or the library file stem).
    teff : (T,) K for the built-in model, NaN for a library.
    """

    wavelength_nm: np.ndarray
    fnu: np.ndarray
    names: np.ndarray
    teff: np.ndarray

    def __len__(self) -> int:
        return len(self.names)

    def reordered(self, order: np.ndarray) -> TemplateSet:
        """The same templates in the given order."""
        return TemplateSet(self.wavelength_nm, self.fnu[order], self.names[order], self.teff[order])


def _smooth_box(wavelength_nm: np.ndarray, centre: float, half_width: float, edge: float = 3.0) -> np.ndarray:
    """1 inside [centre - half_width, centre + half_width], 0 outside, logistic edges of ``edge`` nm."""
    lo = 1.0 / (1.0 + np.exp(-(wavelength_nm - (centre - half_width)) / edge))
    hi = 1.0 / (1.0 + np.exp((wavelength_nm - (centre + half_width)) / edge))
    return lo * hi


def stellar_model_fnu(wavelength_nm: np.ndarray, teff_k: np.ndarray) -> np.ndarray:
    """Built-in stellar spectra, f_nu (arbitrary units), shape (len(teff_k), len(wavelength_nm)).

    Parameters
    ----------
    wavelength_nm : (L,) nm.
    teff_k : (T,) effective temperatures, K (TEFF_MIN_K to TEFF_MAX_K).
    """
    lam = np.asarray(wavelength_nm, dtype=np.float64)[None, :]
    t = np.asarray(teff_k, dtype=np.float64)[:, None]
    # Planck B_lambda up to a constant, then f_nu = f_lambda * lambda^2
    x = np.minimum(HC_OVER_K_NM_K / (lam * t), 700.0)
    flam = lam**-5 / np.expm1(x)
    # blue/UV metal-line blanketing: optical depth ~ (400 nm / lambda)^4, growing toward cool stars
    cool = np.clip((7000.0 - t) / 3000.0, 0.0, 1.4)
    flam = flam * np.exp(-(0.05 + 0.35 * cool) * (400.0 / lam) ** 4)
    # Balmer jump and lines, strongest near 9500 K
    hot = np.exp(-(((t - 9500.0) / 2500.0) ** 2))
    jump = 1.0 / (1.0 + np.exp((lam - 364.6) / 2.0))
    flam = flam * 10.0 ** (-0.4 * (0.2 + 1.1 * hot) * jump)
    for centre in _BALMER_LINES:
        ew = 0.15 + 1.6 * hot  # equivalent width, nm
        sigma = 0.8 + 1.2 * hot
        flam = flam * (1.0 - np.minimum(ew / (np.sqrt(2 * np.pi) * sigma), 0.8)
                       * np.exp(-0.5 * ((lam - centre) / sigma) ** 2))
    # Ca II H and K in G/K stars
    gk = np.clip((6500.0 - t) / 2000.0, 0.0, 1.0)
    for centre in (393.37, 396.85):
        flam = flam * (1.0 - 0.6 * gk * np.exp(-0.5 * ((lam - centre) / 1.0) ** 2))
    # molecular bands of M dwarfs (TiO, MgH), depth growing below 4200 K
    mdw = np.clip((4200.0 - t) / 1300.0, 0.0, 1.0)
    for centre, half, depth in _MOLECULAR_BANDS:
        flam = flam * (1.0 - depth * mdw * _smooth_box(lam[0], centre, half)[None, :])
    return flam * lam**2


def builtin_templates(wavelength_nm: np.ndarray, n_templates: int = 160) -> TemplateSet:
    """Built-in model spectra on a grid of effective temperature, hottest (bluest) first.

    The grid is uniform in log Teff between TEFF_MIN_K and TEFF_MAX_K.
    """
    teff = np.geomspace(TEFF_MAX_K, TEFF_MIN_K, n_templates)
    fnu = stellar_model_fnu(wavelength_nm, teff)
    names = np.array([f"teff_{t:.0f}" for t in teff])
    return TemplateSet(np.asarray(wavelength_nm, dtype=np.float64), fnu, names, teff)


def read_pickles_sed(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One Pickles-format spectrum: two columns, wavelength (Angstrom) and F_lambda; '#' comments.

    Returns
    -------
    wavelength_nm, flambda : ndarrays (nm; arbitrary F_lambda units), sorted by wavelength.
    """
    path = Path(path)
    try:
        data = np.loadtxt(path, comments="#", usecols=(0, 1), ndmin=2)
    except (ValueError, OSError) as exc:
        raise FgcmDbError(f"SED file {path}: expected two numeric columns (wavelength in Angstrom, "
                          f"F_lambda): {exc}") from None
    if len(data) < 10:
        raise FgcmDbError(f"SED file {path} has fewer than 10 rows")
    order = np.argsort(data[:, 0])
    return data[order, 0] / 10.0, data[order, 1]


def library_templates(directory: str | Path, wavelength_nm: np.ndarray) -> TemplateSet:
    """Every ``*.sed`` spectrum in ``directory`` (Pickles format), resampled to ``wavelength_nm``.

    Spectra that do not cover the grid, or have no positive flux on it, are refused with an error
    naming the file.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FgcmDbError(f"--sed-library {directory} is not a directory")
    files = sorted(directory.glob("*.sed"))
    if not files:
        raise FgcmDbError(f"--sed-library {directory} holds no *.sed files (Pickles format: "
                          f"wavelength in Angstrom, F_lambda)")
    lam = np.asarray(wavelength_nm, dtype=np.float64)
    rows = []
    for f in files:
        w, flam = read_pickles_sed(f)
        if w[0] > lam[0] or w[-1] < lam[-1]:
            raise FgcmDbError(f"SED file {f} covers {w[0]:.0f}-{w[-1]:.0f} nm; the simulation needs "
                              f"{lam[0]:.0f}-{lam[-1]:.0f} nm")
        fl = np.clip(np.interp(lam, w, flam), 0.0, None)
        if not np.any(fl > 0):
            raise FgcmDbError(f"SED file {f} has no positive flux between {lam[0]:.0f} and {lam[-1]:.0f} nm")
        rows.append(fl * lam**2)
    return TemplateSet(lam, np.array(rows), np.array([f.stem for f in files]), np.full(len(files), np.nan))
