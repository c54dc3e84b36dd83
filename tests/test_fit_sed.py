"""SED slopes derived from the passbands: how well the linearised chromatic correction follows the exact
synthetic magnitude change of stellar spectra under a detector passband shift (1 nm) and an airmass change
(1.1 -> 1.4).

The coefficients are derived from the built-in stellar model; the Pickles (1998) library checks that they
are not tuned to the simulator's own spectra. Measured, mmag rms over the spectra: shift g 1.40, r 0.67 (built-in),
r 3.45 (Pickles); airmass <= 0.78 (built-in), <= 1.18 (Pickles). With the earlier perturbation set (tilts of
+-2) the r shift errors were 2.85 and 6.30.
"""

from __future__ import annotations

import numpy as np
import pytest

from fgcm_db.atmosphere import load_atmosphere, standard_atmosphere_parameters
from fgcm_db.fit.sed import default_rules, derive_coefficients, sed_slopes
from fgcm_db.lut import integration_weights, standard_passband
from fgcm_db.simulation.seds import builtin_templates, library_templates
from fgcm_db.throughput import default_throughput

BANDS = ["g", "r", "i", "z"]
MC = 2.5 / np.log(10.0)


@pytest.fixture(scope="module")
def system():
    """Standard passbands (HSC-like, Subaru standard atmosphere), their lambda_std and the derived rules."""
    atm, tp = load_atmosphere(None, None), default_throughput()
    curves, lam_std = {}, {}
    for band in BANDS:
        lam, curves[band] = standard_passband(atm, tp, f"HSC-{band.upper()}", "subaru")
        w = integration_weights(lam)
        lam_std[band] = float(np.sum(curves[band] * w) / np.sum(curves[band] * w / lam))
    rules = default_rules(BANDS)
    coeffs = derive_coefficients(BANDS, lam_std, lam, curves, rules)
    std = standard_atmosphere_parameters("subaru")

    def atmosphere(**kw):
        p = {**std, **kw}
        return atm.transmission(lam, p["pwv_mm"], p["o3_du"], p["tau"], p["alpha"], p["airmass"], p["pressure_hpa"])

    airmass_ratio = atmosphere(airmass=1.4) / atmosphere()
    return lam, curves, lam_std, rules, coeffs, airmass_ratio


def linearisation_errors(system, fnu: np.ndarray, coeffs: dict | None = None) -> dict:
    """Per band, rms (mag) over the spectra of exact minus linearised magnitude change, flat-f_nu change
    removed: {(band, 'shift' | 'airmass'): rms}."""
    lam, curves, lam_std, rules, derived, airmass_ratio = system
    coeffs = coeffs or derived
    w = integration_weights(lam)

    def mags(s):
        ww = s * w / lam
        return -2.5 * np.log10((fnu * ww).sum(axis=1) / ww.sum())

    def i10(s, band):
        ww = s * w / lam
        return np.sum(ww * (lam - lam_std[band])) / np.sum(ww)

    mean_mags = np.stack([mags(curves[b]) for b in BANDS], axis=1)
    slopes = sed_slopes(mean_mags, BANDS, lam_std, rules, coeffs)
    out = {}
    for k, band in enumerate(BANDS):
        s = curves[band]
        for name, perturbed in (("shift", np.interp(lam - 1.0, lam, s, left=0.0, right=0.0)),
                                ("airmass", s * airmass_ratio)):
            exact = mags(perturbed) - mean_mags[:, k]
            d_i10 = i10(perturbed, band) - i10(s, band)
            linear = -MC * (np.log1p(slopes[:, k] * (i10(s, band) + d_i10)) - np.log1p(slopes[:, k] * i10(s, band)))
            out[(band, name)] = float(np.sqrt(np.mean((exact - linear) ** 2)))
    return out


def test_derived_slopes_follow_a_1nm_detector_shift_and_an_airmass_change_for_the_builtin_model(system):
    lam = system[0]
    err = linearisation_errors(system, builtin_templates(lam, 160).fnu)
    assert max(err[(b, "shift")] for b in BANDS) <= 0.0015, err
    assert max(err[(b, "airmass")] for b in BANDS) <= 0.001, err


def test_derived_slopes_follow_a_1nm_detector_shift_for_the_pickles_library(system, shared_data):
    """Coefficients from the built-in model applied to real spectra (Pickles 1998: giants, dwarfs, M
    dwarfs with deep TiO bands): r is the hard band (M dwarfs' TiO over the red edge)."""
    lam = system[0]
    err = linearisation_errors(system, library_templates(shared_data / "sed" / "pickles", lam).fnu)
    assert err[("r", "shift")] <= 0.004, err
    assert max(err[(b, "shift")] for b in ("i", "z")) <= 0.0015, err
    assert max(err[(b, "airmass")] for b in BANDS) <= 0.0015, err


def test_a_survey_can_derive_the_slopes_from_its_own_stellar_library(system, shared_data, tmp_path):
    """``[fit] sed_library``: coefficients from the Pickles library follow its spectra better than those
    from the built-in model (r shift 3.45 mmag rms) do."""
    from fgcm_db.config import load_config
    from fgcm_db.errors import FgcmDbError

    lam, curves, lam_std, rules, _, _ = system
    library = shared_data / "sed" / "pickles"
    own = derive_coefficients(BANDS, lam_std, lam, curves, rules, str(library))
    fnu = library_templates(library, lam).fnu
    assert linearisation_errors(system, fnu, own)[("r", "shift")] < 0.8 * linearisation_errors(system, fnu)[("r", "shift")]
    cfg = tmp_path / "fit.toml"
    cfg.write_text(f'[fit]\nsed_library = "{tmp_path / "missing"}"\n')
    with pytest.raises(FgcmDbError, match="sed_library"):
        load_config(cfg)


def test_a_constant_term_helps_slopes_derived_from_a_real_library_on_spectra_held_out(system, shared_data, tmp_path):
    """``[fit] sed_intercept``: coefficients derived from half of the Pickles spectra, applied to the
    other half, and the other way round. With the constant term g follows a 1 nm shift better (measured
    1.10 -> 0.78 and 0.86 -> 0.64 mmag rms; an airmass change 0.51 -> 0.36, 0.56 -> 0.36) and no band
    gets worse by more than 0.2 mmag (measured: none by more than 0.01)."""
    import os

    lam, curves, lam_std, rules, _, _ = system
    spectra = sorted((shared_data / "sed" / "pickles").glob("*.sed"))
    halves = []
    for k in range(2):
        d = tmp_path / f"half{k}"
        d.mkdir()
        for path in spectra[k::2]:
            os.symlink(path, d / path.name)
        halves.append(d)
    for train, test in ((halves[0], halves[1]), (halves[1], halves[0])):
        fnu = library_templates(test, lam).fnu
        errs = [linearisation_errors(system, fnu, derive_coefficients(BANDS, lam_std, lam, curves, rules, str(train),
                                                                      intercept))
                for intercept in (False, True)]
        assert errs[1][("g", "shift")] < 0.8 * errs[0][("g", "shift")], errs
        assert all(errs[1][k] <= errs[0][k] + 0.0002 for k in errs[0]), errs
