"""SED slopes F' from star colours (FGCM_ALGORITHM.md 1.7) with constants derived from the passbands.

Boundary terms between bands p, s (per nm): ``S_ps = -(0.4 ln 10) (m_p - m_s) / (lambda_p - lambda_s)``.
A band's slope is a linear combination of its rule's boundary terms, ``F'_b = sum_k c_bk S_k``. The
default rule takes the two boundaries adjacent to the band (edge bands: the two nearest ones). The
coefficients c_bk are fitted by least squares so that F' reproduces, for the project's built-in
stellar model (:func:`fgcm_db.simulation.seds.stellar_model_fnu`: Planck x metal-line blanketing x
Balmer jump and lines x Ca II x TiO/MgH bands, 3000-12000 K), each spectrum's *effective* slope: the
F' whose linearised correction ``2.5 log10[(1 + F' I10) / (1 + F' I10_std)]`` best matches the exact
synthetic magnitude change under a set of passband perturbations: shifts of +-1 and +-2 nm (the
size of detector-to-detector filter differences, which the CCD chromaticity term absorbs) and
(lambda / lambda_std)^(+-0.3) tilts, which move I10 by 0.2-1.1 nm (z-g), the range an airmass or
aerosol change gives. This replaces the hand-tuned constants of the reference, which FGCM_LESSONS.md 4
found 2-4 mmag wrong in g; with strong molecular bands the plain in-band slope of a spectrum is a poor
predictor, the effective one is what the correction needs.

The perturbations must have realistic relative sizes, because one F' per star cannot follow both
kinds exactly for spectra with molecular bands (an M dwarf's r magnitude responds to an edge shift
over its TiO band far more than to a smooth tilt). Tilts of +-2 (I10 moved by 6-7 nm, beyond any
atmosphere) dominated the least squares: the r slopes then missed the response to a 1 nm shift by
2.9 mmag rms over the built-in model (6.3 over the Pickles 1998 library, M dwarfs 5-20 mmag), and
the simulated tract's r zero-points were 4.3 mmag off, correlated with the detectors' true shifts;
with +-0.3 the misses are 0.7 (3.5) mmag rms, and those of real atmosphere changes (airmass
1.1 -> 1.4, aerosol tau 0.03 -> 0.1) 0.01-0.9 (0.03-1.2) mmag rms per band.
"""

from __future__ import annotations

import numpy as np

from ..errors import FgcmDbError

#: 0.4 ln 10: d ln f_nu = -0.921 dm
K_MAG = 0.4 * np.log(10.0)
#: h c / k in nm K
HC_OVER_K_NM_K = 1.4387769e7
TEFF_FAMILY_K = np.geomspace(3000.0, 12000.0, 80)
#: passband perturbations used to define effective slopes: shifts (nm) and power-law tilts (exponents
#: of lambda / lambda_std); their sizes weigh them in the least squares (module docstring)
PERTURBATION_SHIFTS_NM = (-2.0, -1.0, 1.0, 2.0)
PERTURBATION_TILTS = (-0.3, 0.3)


def default_rules(bands_by_wavelength: list[str]) -> dict[str, list[str]]:
    """Adjacent boundary terms per band ('g-r' style); edge bands use their two nearest boundaries."""
    b = bands_by_wavelength
    if len(b) < 2:
        return {x: [] for x in b}
    bounds = [f"{b[i]}-{b[i + 1]}" for i in range(len(b) - 1)]
    rules = {}
    for i, band in enumerate(b):
        if i == 0:
            rules[band] = bounds[:2]
        elif i == len(b) - 1:
            rules[band] = bounds[-2:]
        else:
            rules[band] = [bounds[i - 1], bounds[i]]
    return rules


def stellar_family_fnu(wavelength_nm: np.ndarray, teff_k: np.ndarray = TEFF_FAMILY_K) -> np.ndarray:
    """The built-in stellar model's f_nu (arbitrary units), shape (T, L)."""
    from ..simulation.seds import stellar_model_fnu

    return stellar_model_fnu(np.asarray(wavelength_nm, dtype=np.float64), np.asarray(teff_k, dtype=np.float64))


def effective_slopes(wavelength_nm: np.ndarray, passbands: np.ndarray, lambda_std: np.ndarray,
                     fnu: np.ndarray) -> np.ndarray:
    """Effective F' (T, B), 1/nm: least-squares slope of the exact chromatic magnitude change against
    MC (I10_k - I10_std) over the passband perturbations k (module docstring)."""
    lam = np.asarray(wavelength_nm, dtype=np.float64)
    std = np.asarray(passbands, dtype=np.float64)
    perturbed = [np.stack([np.interp(lam - s, lam, row, left=0.0, right=0.0) for row in std])
                 for s in PERTURBATION_SHIFTS_NM]
    perturbed += [std * (lam[None, :] / lambda_std[:, None]) ** q for q in PERTURBATION_TILTS]

    def moments(s):
        w = s / lam
        i0 = np.trapezoid(w, lam, axis=1)
        i10 = np.trapezoid(w * (lam[None, :] - lambda_std[:, None]), lam, axis=1) / i0
        flux = np.trapezoid(fnu[:, None, :] * w[None], lam, axis=2) / i0[None]
        return i10, flux

    i10_std, flux_std = moments(std)
    num = np.zeros(fnu.shape[0:1] + (std.shape[0],))
    den = np.zeros(std.shape[0])
    mc = 2.5 / np.log(10.0)
    for s in perturbed:
        i10, flux = moments(s)
        d_true = 2.5 * np.log10(flux / flux_std)  # exact change for each spectrum, flat-SED part removed
        dx = mc * (i10 - i10_std)
        num += d_true * dx[None, :]
        den += dx * dx
    return num / den[None, :]


def synthetic_quantities(wavelength_nm: np.ndarray, passbands: np.ndarray, lambda_std: np.ndarray,
                         fnu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic AB-like magnitudes (T, B) and effective in-band slopes F' (T, B) (1/nm).

    Parameters
    ----------
    passbands : (B, L) standard passbands on ``wavelength_nm``; lambda_std : (B,) nm; fnu : (T, L).
    """
    lam = np.asarray(wavelength_nm, dtype=np.float64)
    w = passbands / lam  # (B, L)
    i0 = np.trapezoid(w, lam, axis=1)
    mags = -2.5 * np.log10(np.trapezoid(fnu[:, None, :] * w[None], lam, axis=2) / i0[None])
    x = lam[None, :] - lambda_std[:, None]  # (B, L)
    # weighted linear fit fnu ~ a + b x per (T, B): slope F' = b / a
    s0 = np.trapezoid(w, lam, axis=1)
    s1 = np.trapezoid(w * x, lam, axis=1)
    s2 = np.trapezoid(w * x * x, lam, axis=1)
    t0 = np.trapezoid(fnu[:, None, :] * w[None], lam, axis=2)
    t1 = np.trapezoid(fnu[:, None, :] * (w * x)[None], lam, axis=2)
    det = s0 * s2 - s1 * s1
    a = (s2 * t0 - s1 * t1) / det
    b = (s0 * t1 - s1 * t0) / det
    return mags, b / a


def boundary_term(m_p, m_s, lambda_p: float, lambda_s: float):
    """S_ps = -0.921 (m_p - m_s) / (lambda_p - lambda_s), per nm."""
    return -K_MAG * (np.asarray(m_p) - np.asarray(m_s)) / (lambda_p - lambda_s)


def derive_coefficients(bands: list[str], lambda_std: dict[str, float], wavelength_nm: np.ndarray,
                        passbands: dict[str, np.ndarray], rules: dict[str, list[str]],
                        library: str = "", intercept: bool = False) -> dict[str, list[float]]:
    """Least-squares coefficients of every band's rule on a stellar library: ``library`` a directory
    of Pickles-format spectra, "" the built-in stellar family. With ``intercept`` each band's list ends
    with a constant term (1/nm) added to the rule's combination."""
    order = [b for b in bands if b in passbands]
    pb = np.stack([passbands[b] for b in order])
    lstd = np.array([lambda_std[b] for b in order])
    if library:
        from ..simulation.seds import library_templates

        fnu = library_templates(library, wavelength_nm).fnu
    else:
        fnu = stellar_family_fnu(wavelength_nm)
    mags, _ = synthetic_quantities(wavelength_nm, pb, lstd, fnu)
    slopes = effective_slopes(wavelength_nm, pb, lstd, fnu)
    col = {b: i for i, b in enumerate(order)}
    out = {}
    for band, terms in rules.items():
        if band not in col or not terms:
            continue
        basis = np.stack([_term_values(t, mags, col, lambda_std) for t in terms]
                         + ([np.ones(len(mags))] if intercept else []), axis=1)
        coeffs, *_ = np.linalg.lstsq(basis, slopes[:, col[band]], rcond=None)
        out[band] = [float(c) for c in coeffs]
    return out


def _term_values(term: str, mags: np.ndarray, col: dict[str, int], lambda_std: dict[str, float]) -> np.ndarray:
    p, s = term.split("-")
    if p not in col or s not in col:
        raise FgcmDbError(f"[fit] sed_terms: boundary {term!r} names a band without a standard passband")
    return boundary_term(mags[..., col[p]], mags[..., col[s]], lambda_std[p], lambda_std[s])


def sed_slopes(mean_mags: np.ndarray, bands: list[str], lambda_std: dict[str, float],
               rules: dict[str, list[str]], coefficients: dict[str, list[float]]) -> np.ndarray:
    """F' per (star, band), shape like ``mean_mags`` (n_stars, n_bands), 1/nm; NaN where not computable.

    ``mean_mags`` has NaN for missing means. ``coefficients[band]`` has one value per term of the
    band's rule, and optionally one more: a constant (1/nm).
    """
    col = {b: i for i, b in enumerate(bands)}
    out = np.full(mean_mags.shape, np.nan)
    for band, terms in rules.items():
        if band not in col or band not in coefficients or not terms:
            continue
        if any(p not in col or s not in col for p, s in (t.split("-") for t in terms)):
            continue
        total = np.zeros(len(mean_mags))
        for t, c in zip(terms, coefficients[band]):
            total = total + c * _term_values(t, mean_mags, col, lambda_std)
        if len(coefficients[band]) == len(terms) + 1:
            total = total + coefficients[band][-1]
        out[:, col[band]] = total
    return out


def fill_median(slopes: np.ndarray) -> np.ndarray:
    """Replace NaN slopes by the median of their band's finite ones (0 when a band has none)."""
    out = slopes.copy()
    for j in range(out.shape[1]):
        good = np.isfinite(out[:, j])
        out[~good, j] = np.median(out[good, j]) if good.any() else 0.0
    return out
