"""The fit's building blocks on constructed arrays: gray terms, selection, cuts, zero-points, pinning,
statistics, SED slopes and the configuration."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from fgcm_db.config import load_config
from fgcm_db.errors import FgcmDbError
from fgcm_db.fit import flags as F
from fgcm_db.fit.gray import (CcdGray, ExpGray, auto_cuts, auto_var_cut, calibratable_nights, ccd_gray, exp_gray,
                              night_gray_offset, select_exposures)
from fgcm_db.fit.model import aperture_curvature_feature
from fgcm_db.fit.engine import bounds_line
from fgcm_db.fit.params import (ParamLayout, StandardAtmosphere, at_bound, nights_at_bound, pinned, pinned_gradient,
                                 visit_atmosphere)
from fgcm_db.fit.sed import boundary_term, default_rules, fill_median
from fgcm_db.fit.stats import gaussian_fit, group_median, group_range, mad_outliers
from fgcm_db.fit.superstar import superstar_chromaticity_update
from fgcm_db.fit.surface import gray_surface
from fgcm_db.fit.variability import variable_stars
from fgcm_db.fit.zeropoints import compose, detector_departure_variance, zeropoint_flags


def test_ccd_gray_is_the_inverse_variance_weighted_mean_with_its_error():
    pair = np.array([0, 0, 0, 1, 1])
    egray = np.array([-0.01, -0.02, -0.03, 0.0, 0.0])
    var = np.array([1e-4, 4e-4, 1e-4, 1e-4, 1e-4])
    g = ccd_gray(pair, 2, egray, var, np.full(5, 3.0), np.zeros(5), min_star_per_ccd=3, max_ccd_gray_err=0.05)
    w = 1 / var[:3]
    assert g.gray[0] == pytest.approx(np.sum(w * egray[:3]) / w.sum())
    assert g.err[0] == pytest.approx(w.sum() ** -0.5)
    assert g.good[0] and not g.good[1] and np.isnan(g.gray[1])  # two stars: no gray


def test_exposure_gray_needs_three_good_detectors():
    ccd = CcdGray(gray=np.array([-0.1, -0.1, -0.1, 0.0, 0.0]), err=np.full(5, 0.01), rms=np.zeros(5),
                  n_stars=np.full(5, 10), tilings=np.full(5, 3.0), delta_chrom=np.zeros(5),
                  good=np.array([True, True, True, True, True]))
    e = exp_gray(np.array([0, 0, 0, 1, 1]), 2, ccd, n_detectors=104)
    assert e.gray[0] == pytest.approx(-0.1) and e.n_good_ccds[0] == 3 and e.n_good_stars[0] == 30
    assert np.isnan(e.gray[1])


def test_selection_flags_cloudy_bright_patchy_and_starless_visits():
    exp = ExpGray(gray=np.array([0.0, -0.1, 0.3, 0.0, np.nan]), err=np.full(5, 1e-3),
                  rms=np.array([0.001, 0.001, 0.001, 0.1, np.nan]), n_good_ccds=np.full(5, 10),
                  n_good_stars=np.array([500, 500, 500, 500, 0]))
    flag = select_exposures(exp, np.array([500, 500, 500, 500, 0]), np.full(5, -0.05), np.full(5, 0.2),
                            np.full(5, 0.0025), min_star_per_exp=100)
    assert list(flag) == [0, F.EXP_GRAY_TOO_NEGATIVE, F.EXP_GRAY_TOO_POSITIVE, F.EXP_VAR_GRAY_TOO_LARGE,
                          F.EXP_NO_STARS]


def test_nights_with_too_few_photometric_visits_are_not_calibratable():
    flag = np.array([0, 0, 0, 0, F.EXP_GRAY_TOO_NEGATIVE, 0])
    night = np.array([0, 0, 0, 1, 1, 1])
    out, ok = calibratable_nights(flag, night, np.ones(6, bool), 2, min_exp_per_night=3)
    assert list(ok) == [True, False]
    assert list(out[:3]) == [0, 0, 0] and all(out[3:] & F.EXP_TOO_FEW_EXP_ON_NIGHT)


def test_automatic_cuts_follow_the_gray_width_and_only_tighten():
    rng = np.random.default_rng(1)
    low, high = auto_cuts(rng.normal(0.0, 0.003, 400), -0.05, 0.2, 3.0, 4.0, 0.0025, only_tighten=True)
    assert low == pytest.approx(-0.01) and high == pytest.approx(0.0125)
    low, high = auto_cuts(rng.normal(0.0, 0.05, 400), -0.01, 0.0125, 3.0, 4.0, 0.0025, only_tighten=True)
    assert (low, high) == (-0.01, 0.0125)


def test_variance_cut_tightens_to_the_clear_visits_spread():
    rms = np.r_[np.full(40, 0.003) + np.linspace(-5e-4, 5e-4, 40)]
    cut = auto_var_cut(rms, 4e-5, 4.0, only_tighten=True)
    assert 0.003 ** 2 < cut < 0.0046 ** 2
    assert auto_var_cut(rms, 0.0025, 4.0, only_tighten=True) == 0.0025 / 4  # at most 4x per cycle


def test_a_too_bright_visit_makes_its_night_and_band_measured_from_it():
    gray = np.array([0.0, -0.001, 0.06, 0.0, -0.002])
    night = np.array([0, 0, 0, 1, 1])
    band = np.array([0, 0, 0, 0, 0])
    off, clouded = night_gray_offset(gray, night, band, 2, 1, np.full(5, 0.02))
    assert list(off) == [0.06, 0.06, 0.06, 0.0, 0.0]
    assert not clouded.any()  # one band only: the too-bright visit keeps its flag


def test_two_too_bright_bands_make_the_night_s_other_bands_measured_from_the_smaller_offset():
    # night 0: g and i each have a clear visit 30 / 40 mmag above a model that absorbed r's clouds;
    # night 1: only z is too bright (a chromatic error, not clouds): r is left alone
    gray = np.array([0.03, 0.0, -0.001, 0.004, 0.04, 0.0, 0.0, 0.03])
    night = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    band = np.array([0, 1, 1, 1, 2, 1, 1, 3])
    off, clouded = night_gray_offset(gray, night, band, 2, 4, np.full(8, 0.02))
    assert list(off) == [0.03, 0.03, 0.03, 0.03, 0.04, 0.0, 0.0, 0.03]
    # night 0's too-bright g and i visits are its clear reference (gray - offset = 0), night 1's z is not
    assert list(clouded) == [True] * 5 + [False] * 3


def test_zero_point_flags_follow_the_exposure_flags():
    exp_flag = np.array([0, 0, F.EXP_GRAY_TOO_NEGATIVE, F.EXP_TOO_FEW_EXP_ON_NIGHT | F.EXP_GRAY_TOO_NEGATIVE,
                         F.EXP_NO_STARS])
    fit_band = np.array([True, False, True, True, True])
    assert list(zeropoint_flags(exp_flag, fit_band)) == [F.ZP_PHOTOMETRIC_FIT, F.ZP_PHOTOMETRIC_NOTFIT,
                                                         F.ZP_NONPHOTOMETRIC_FIT_NIGHT, F.ZP_NOFIT_NIGHT,
                                                         F.ZP_CANNOT_COMPUTE]


def _compose(base_flag, ccd_good, exposure_gray_when_photometric=True, recover_ok=None):
    nv, nd = ccd_good.shape
    recover_ok = np.ones(nv, bool) if recover_ok is None else recover_ok
    return compose(
        base_flag, np.full((nv, nd), 0.1), np.zeros((nv, nd)), np.full((nv, nd), 30.0),
        np.full((nv, nd), -0.02), np.full((nv, nd), 0.003), ccd_good, np.full((nv, nd), 4.0), np.zeros((nv, nd)),
        np.full(nv, -0.05), np.full(nv, 0.001), np.full(nv, 0.004), np.full(nv, 8), np.full(nv, 4.0),
        recover_ok, np.full(nv, 0.005), np.full(nv, 0.001), min_ccd_per_exp=5,
        exposure_gray_when_photometric=exposure_gray_when_photometric)


def test_zero_point_is_the_sum_of_its_terms_with_the_detector_gray_on_cloudy_visits():
    z = _compose(np.array([F.ZP_NONPHOTOMETRIC_FIT_NIGHT]), np.array([[True, False]]))
    mc = 2.5 / np.log(10)
    assert z.zp[0, 0] == pytest.approx(mc * np.log(0.1) + 30.0 - 0.02)
    assert z.zp[0, 1] == pytest.approx(mc * np.log(0.1) + 30.0 - 0.05)  # recovered from the exposure gray
    assert z.gray_var[0, 1] == pytest.approx(0.004 ** 2)
    assert z.zp_err[0, 0] == pytest.approx(np.sqrt(0.005 ** 2 / 3 + 0.003 ** 2 + 0.001 ** 2))


def test_photometric_visits_take_the_exposure_gray_unless_configured_otherwise():
    good = np.array([[True, True]])
    z = _compose(np.array([F.ZP_PHOTOMETRIC_FIT]), good)
    assert np.allclose(z.gray, -0.05)
    z = _compose(np.array([F.ZP_PHOTOMETRIC_FIT]), good, exposure_gray_when_photometric=False)
    assert np.allclose(z.gray, -0.02)


def test_nights_without_fit_recover_detectors_only_on_well_measured_visits():
    z = _compose(np.array([F.ZP_NOFIT_NIGHT, F.ZP_NOFIT_NIGHT]), np.array([[True, False], [True, False]]),
                 recover_ok=np.array([True, False]))
    mc = 2.5 / np.log(10)
    assert z.zp[0, 0] == pytest.approx(mc * np.log(0.1) + 30.0 - 0.02)
    assert z.zp[0, 1] == pytest.approx(mc * np.log(0.1) + 30.0 - 0.05)  # recovered from the exposure gray
    assert z.flag[0, 1] == F.ZP_NOFIT_NIGHT
    assert np.isfinite(z.zp[1, 0]) and np.isnan(z.zp[1, 1])
    assert z.flag[1, 1] & F.ZP_CANNOT_COMPUTE


def test_pinned_values_have_zero_weighted_mean_and_the_gradient_follows_the_chain_rule():
    rng = np.random.default_rng(2)
    u, w = rng.normal(size=(2, 5)), rng.integers(1, 9, (2, 5))
    v = pinned(u, w)
    assert np.allclose((v * w).sum(axis=1), 0.0)
    g = rng.normal(size=(2, 5))
    numeric = np.array([[(np.sum(g * pinned(u + 1e-6 * (np.arange(10) == k).reshape(2, 5), w))
                          - np.sum(g * pinned(u, w))) / 1e-6 for k in range(r * 5, r * 5 + 5)] for r in range(2)])
    assert np.allclose(pinned_gradient(g, w), numeric, atol=1e-6)


def test_visit_atmosphere_is_clipped_to_the_table_and_says_where():
    std = StandardAtmosphere(2.0, 280.0, 0.05, 1.0, 620.0, (np.log(0.1), np.log(4.0)), (200.0, 400.0),
                             (np.log(0.002), np.log(0.5)))
    lay = ParamLayout(1, 1, 1, 1)
    p = lay.standard_vector(std)
    p[lay.atm(3)] = 4.0  # steep ln PWV slope
    atm = visit_atmosphere(p, lay, std, np.array([0, 0]), np.array([0.0, 0.5]))
    assert atm.ln_pwv[0] == pytest.approx(np.log(2.0)) and atm.ln_pwv[1] == pytest.approx(np.log(4.0))
    assert list(atm.pwv_free) == [True, False]


def test_nightly_parameters_on_a_bound_are_named_per_class_and_only_when_free():
    """Ozone at its upper bound on two nights (one of them fixed, so not counted), ln PWV at its lower
    bound on one, alpha 1e-3 inside its bound (not on it)."""
    std = StandardAtmosphere(2.0, 280.0, 0.05, 1.0, 620.0, (np.log(0.1), np.log(4.0)), (200.0, 400.0),
                             (np.log(0.002), np.log(0.5)))
    lay = ParamLayout(n_nights=3, n_wash=1, n_filters=1, n_bands=1)
    p = lay.standard_vector(std)
    lo, hi = lay.bounds(std)
    free = np.zeros(lay.size, dtype=bool)
    free[: 6 * 3] = True
    p[lay.atm(0)] = [400.0, 300.0, 400.0]
    free[lay.atm(0).start + 2] = False
    p[lay.atm(2)] = [np.log(2.0), np.log(0.1), np.log(2.0)]
    p[lay.atm(1)] = [hi[lay.atm(1)][0] - 1e-3, 1.0, 1.0]
    assert list(at_bound(p[lay.atm(0)], lo[lay.atm(0)], hi[lay.atm(0)], free[lay.atm(0)])) == [True, False, False]
    nights = np.array([60001, 60002, 60003])
    on = nights_at_bound(lay, p, lo, hi, free, nights)
    assert list(on["o3"][0]) == [60001] and on["o3"][1] == 2
    assert list(on["ln_pwv_intercept"][0]) == [60002] and on["ln_pwv_intercept"][1] == 3
    assert all(len(on[k][0]) == 0 for k in ("alpha", "ln_pwv_slope", "ln_tau_intercept", "ln_tau_slope"))
    out = SimpleNamespace(layout=lay, lower=lo, upper=hi, free=free, cycle=2,
                          state=SimpleNamespace(p=p, night_ids=nights))
    line = bounds_line(out)
    assert "o3 on 1 of 2 nights (60001)" in line and "ln_pwv_intercept on 1 of 3 nights (60002)" in line
    assert "alpha" not in line
    out.free = np.zeros(lay.size, dtype=bool)  # a cycle without a fit names nothing
    assert bounds_line(out) is None


def test_group_statistics_and_clipping():
    key = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    x = np.array([1.0, 2.0, 3.0, 0.0, 0.1, -0.1, 0.05, 5.0])
    assert list(group_median(key, x, 3)[:2]) == [2.0, 0.05] and np.isnan(group_median(key, x, 3)[2])
    assert list(mad_outliers(key, x, 2, 5.0)) == [False] * 7 + [True]
    mu, sig = gaussian_fit(np.random.default_rng(3).normal(0.01, 0.004, 5000))
    assert mu == pytest.approx(0.01, abs=3e-4) and sig == pytest.approx(0.004, rel=0.05)


def test_sed_rules_boundary_terms_and_median_fill():
    assert default_rules(["g", "r", "i", "z"]) == {"g": ["g-r", "r-i"], "r": ["g-r", "r-i"], "i": ["r-i", "i-z"],
                                                   "z": ["r-i", "i-z"]}
    # a redder star (g - r > 0) has f_nu rising with wavelength: positive slope
    assert boundary_term(19.0, 18.5, 480.0, 620.0) > 0
    filled = fill_median(np.array([[0.001, np.nan], [0.003, np.nan], [np.nan, np.nan]]))
    assert list(filled[:, 0]) == [0.001, 0.003, 0.002] and np.all(filled[:, 1] == 0.0)


def test_fit_config_names_bad_values_and_reads_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[fit]\nmax_iter = 150\nexp_gray_photometric_cut_per_band = {g = -0.03}\n")
    cfg = load_config(path).fit
    assert cfg.max_iter == 150 and cfg.cut("exp_gray_photometric_cut", "g") == -0.03
    assert cfg.cut("exp_gray_photometric_cut", "r") == -0.05
    path.write_text("[fit]\nreserve_fraction = 1.5\n")
    with pytest.raises(FgcmDbError, match="reserve_fraction"):
        load_config(path)
    path.write_text('[fit]\nphotometric_zeropoint_gray = "ccd"\n')
    with pytest.raises(FgcmDbError, match="photometric_zeropoint_gray"):
        load_config(path)


def test_joint_superstar_and_chromaticity_update_recovers_offset_and_shift_per_detector():
    rng = np.random.default_rng(5)
    n_keys, n = 4, 4000
    key = rng.integers(0, n_keys, n)
    a_true, b_true = np.array([0.01, -0.02, 0.0, 0.005]), np.array([1.0, -0.5, 0.3, 0.0])  # mag, nm
    response = rng.uniform(0.0, 0.015, n)  # mag/nm: SED slopes of the stars times 2.5/ln 10
    egray = a_true[key] + response * b_true[key] + rng.normal(0.0, 0.001, n)
    egray[:5] += 0.5  # outliers, clipped
    a, b, err, count, outlier = superstar_chromaticity_update(key, n_keys, egray, np.full(n, 1e-6), response,
                                                              np.zeros(n_keys), 0.0, 5.0)
    assert np.allclose(a, a_true, atol=2e-4) and np.allclose(b, b_true, atol=0.03)
    assert outlier[:5].all() and count.sum() <= n - 5 and np.all(err > 0)
    # a prior of width p around 0 pulls the total shift (in force + increment) towards 0
    _, b_prior, _, _, _ = superstar_chromaticity_update(key, n_keys, egray, np.full(n, 1e-6), response,
                                                        np.full(n_keys, 0.5), 0.01, 5.0)
    assert np.all(np.abs(0.5 + b_prior) < np.abs(0.5 + b) + 1e-12)


def test_variable_stars_are_flagged_and_constant_ones_are_not():
    """2000 constant stars and 40 sinusoidal variables in 3 bands, 8 observations per band, 5-20 mmag
    errors: every variable of semi-amplitude >= 0.08 mag (4x the largest error) is flagged, no constant
    star is, and a star variable in one band only is not flagged when two bands are required. (At 0.03
    mag, below the errors' reach in 8 points, chi-square ~20 against a 5-sigma limit of 45 for 7 degrees
    of freedom: not expected to be found.)"""
    rng = np.random.default_rng(5)
    n_const, n_var, n_bands, n_obs = 2000, 40, 3, 8
    n_stars = n_const + n_var + 1
    star = np.repeat(np.arange(n_stars), n_bands * n_obs)
    band = np.tile(np.repeat(np.arange(n_bands), n_obs), n_stars)
    err = rng.uniform(0.005, 0.02, star.size)
    amp = np.zeros(n_stars)
    amp[n_const:n_const + n_var] = np.geomspace(0.08, 0.3, n_var)
    phase = rng.uniform(0, 2 * np.pi, star.size)
    mag = 20.0 + amp[star] * np.sin(phase) + rng.normal(0, 1, star.size) * err
    one_band = (star == n_stars - 1) & (band == 0)
    mag[one_band] += 0.2 * np.sin(phase[one_band])
    sigma_fgcm = 0.003
    variable = variable_stars(star * n_bands + band, n_stars, n_bands, mag, err ** 2 + sigma_fgcm ** 2, 5.0, 2)
    assert variable[n_const:n_const + n_var].all()
    assert not variable[:n_const].any()
    assert not variable[-1]
    assert variable_stars(star * n_bands + band, n_stars, n_bands, mag, err ** 2 + sigma_fgcm ** 2, 5.0, 1)[-1]


def test_gaussian_fit_without_a_covariance_falls_back_to_median_and_mad():
    """Integer-valued data leave most Freedman-Diaconis bins empty; curve_fit then has no covariance
    (an OptimizeWarning) and its sigma is no measurement: the fit falls back, silently, to (median,
    1.4826 MAD)."""
    import warnings

    x = np.array([0] * 11 + [1] * 6 + [-1] * 6 + [2, -2], dtype=np.float64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mu, sigma = gaussian_fit(x)
    assert (mu, sigma) == (0.0, pytest.approx(1.4826))
    assert not caught


def _detector_grid(n_side: int = 8, pitch_mm: float = 35.0) -> np.ndarray:
    """(n_side^2, 2) detector centres on a square grid, mm."""
    c = (np.arange(n_side) - (n_side - 1) / 2) * pitch_mm
    x, y = np.meshgrid(c, c)
    return np.stack([x.ravel(), y.ravel()], axis=1)


def test_gray_surface_follows_a_cloud_gradient_and_leaves_a_clear_visit_constant():
    """Visit 0: a cloud of -0.05 mag with a 0.03 mag gradient across the field, plus 2.5 mmag of
    detector noise: the plane at each detector centre is within 1.5 mmag of the truth (its formal error
    about 0.6 mmag). Visit 1: noise only, the plane is not significant and the visit keeps the
    constant (NaN). Visit 2: 6 good detectors, too few for a plane (9)."""
    xy = _detector_grid()
    nd = len(xy)
    rng = np.random.default_rng(3)
    pair_visit = np.repeat(np.arange(3), nd)
    pair_detector = np.tile(np.arange(nd), 3)
    truth0 = -0.05 + 0.03 * xy[:, 0] / np.abs(xy[:, 0]).max()
    gray = np.concatenate([truth0, np.full(nd, -0.01), np.zeros(nd)]) + rng.normal(0, 0.0025, 3 * nd)
    err = np.full(3 * nd, 0.0025)
    good = np.ones(3 * nd, dtype=bool)
    good[2 * nd + 6:] = False
    surface, surface_err, fitted = gray_surface(pair_visit, pair_detector, good, gray, err, 3, xy, 1, 5)
    assert fitted.tolist() == [True, False, False]
    assert np.max(np.abs(surface[0] - truth0)) < 0.0015
    assert np.all(surface_err[0] < 0.001)
    assert np.isnan(surface[1:]).all()


def test_photometric_and_recovered_detectors_take_the_exposure_gray_surface_where_there_is_one():
    nd = 2
    surface = np.array([[-0.04, -0.06]])
    surface_err = np.full((1, nd), 0.0008)
    for flag, good in ((F.ZP_PHOTOMETRIC_FIT, [True, True]), (F.ZP_NONPHOTOMETRIC_FIT_NIGHT, [True, False])):
        z = compose(
            np.array([flag]), np.full((1, nd), 0.1), np.zeros((1, nd)), np.full((1, nd), 30.0),
            np.full((1, nd), -0.02), np.full((1, nd), 0.003), np.array([good]), np.full((1, nd), 4.0),
            np.zeros((1, nd)), np.full(1, -0.05), np.full(1, 0.001), np.full(1, 0.004), np.full(1, 8),
            np.full(1, 4.0), np.ones(1, bool), np.full(1, 0.005), np.full(1, 0.001), min_ccd_per_exp=5,
            exp_surface=surface, exp_surface_err=surface_err)
        if flag == F.ZP_PHOTOMETRIC_FIT:
            assert np.allclose(z.gray, surface) and np.allclose(z.gray_var, 0.0008 ** 2)
        else:
            assert z.gray[0, 0] == pytest.approx(-0.02) and z.gray[0, 1] == pytest.approx(-0.06)


def test_aperture_curvature_feature_is_the_square_inside_its_range_and_its_tangent_outside():
    x = np.linspace(-0.05, 0.08, 2601)
    low, high = -0.01, 0.03
    q = aperture_curvature_feature(x, low, high)
    inside = (x >= low) & (x <= high)
    assert np.allclose(q[inside], x[inside] ** 2, rtol=0, atol=1e-15)
    for end in (low, high):  # value and slope continue at each end
        beyond = x > high if end == high else x < low
        assert np.allclose(q[beyond], end ** 2 + 2 * end * (x[beyond] - end), rtol=0, atol=1e-15)
    assert np.array_equal(aperture_curvature_feature(x, -np.inf, np.inf), x * x)


def test_group_range_gives_each_keys_lowest_and_highest_value_and_infinities_when_empty():
    low, high = group_range(np.array([0, 2, 0, 2, 2]), np.array([3.0, -1.0, 1.5, 4.0, 0.5]), 4)
    assert low.tolist() == [1.5, np.inf, -1.0, np.inf]
    assert high.tolist() == [3.0, -np.inf, 4.0, -np.inf]


def test_blended_photometric_gray_beats_both_the_exposure_and_the_detector_gray():
    """Photometric visits whose detectors depart from the exposure gray by a true 2 mmag rms, measured
    with 1-4 mmag errors: the departure variance is recovered (within 10 %), each good detector takes
    k = var / (var + err^2) of its own departure, and the blended gray is closer to the truth than either
    the exposure gray alone or the detector gray alone."""
    rng = np.random.default_rng(11)
    nv, nd = 400, 40
    true_dep = rng.normal(0.0, 0.002, (nv, nd))
    err = rng.uniform(0.001, 0.004, (nv, nd))
    exp_gray = rng.normal(0.0, 0.003, nv)
    ccd_gray = exp_gray[:, None] + true_dep + rng.normal(0.0, 1.0, (nv, nd)) * err
    good = rng.random((nv, nd)) > 0.05
    bands = np.arange(nv) % 2
    var = detector_departure_variance(np.ones(nv, dtype=bool), bands, 2, ccd_gray, err, good,
                                      np.repeat(exp_gray[:, None], nd, axis=1))
    assert np.allclose(var, 0.002 ** 2, rtol=0.10), var
    base = np.full(nv, F.ZP_PHOTOMETRIC_FIT)
    ones = np.ones((nv, nd))
    args = (base, ones, ones * 0.0, ones * 0.0, ccd_gray, err, good, ones * 5.0, ones * 0.0, exp_gray,
            np.full(nv, 1e-4), np.full(nv, 0.003), np.full(nv, nd), np.full(nv, 5.0), np.ones(nv, dtype=bool),
            np.full(nv, 0.005), np.full(nv, 0.001), 5)
    truth = exp_gray[:, None] + true_dep
    rms = {}
    for name, kw in (("exposure", dict(exposure_gray_when_photometric=True)),
                     ("detector", dict(exposure_gray_when_photometric=False)),
                     ("blend", dict(exposure_gray_when_photometric=True, blend_bands=bands))):
        zp = compose(*args, **kw)
        rms[name] = float(np.sqrt(np.mean((zp.gray - truth)[good] ** 2)))
    assert rms["blend"] < 0.9 * min(rms["exposure"], rms["detector"]), rms
    zp = compose(*args, exposure_gray_when_photometric=True, blend_bands=bands)
    k = var[bands][:, None] / (var[bands][:, None] + err ** 2)
    assert np.allclose(zp.gray[good], (exp_gray[:, None] + k * (ccd_gray - exp_gray[:, None]))[good], atol=1e-12)
    assert np.allclose(zp.gray[~good], np.repeat(exp_gray[:, None], nd, axis=1)[~good], atol=1e-12)
