"""The analytic gradient of the profiled chi-square agrees with finite differences on every class."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fgcm_db.fit.chisq import Chisq, step_units
from fgcm_db.fit.params import ATM_CLASSES, pinned

from fit_standin import AnalyticPassbands, synthetic_fit_data


@pytest.fixture(scope="module")
def problem():
    pb = AnalyticPassbands()
    data, layout, p = synthetic_fit_data(pb)
    free = np.ones(layout.size, dtype=bool)
    return Chisq(data, pb, layout, pb.std, free, chromatic=True), layout, p


@pytest.mark.parametrize("name", [*ATM_CLASSES, "qe_sys_intercept", "qe_sys_slope", "aper_corr_slope",
                                  "aper_corr_curvature", "ccd_chromaticity", "superstar"])
def test_gradient_matches_central_differences_within_one_permille(problem, name):
    chisq, layout, p = problem
    _, grad = chisq(p)
    classes = layout.class_of()
    steps = {"o3": 0.5, "alpha": 1e-3, "qe_sys_intercept": 1e-5, "qe_sys_slope": 1e-6, "aper_corr_slope": 1e-4,
             "aper_corr_curvature": 1e-3, "ccd_chromaticity": 1e-3, "superstar": 1e-5}
    for k in np.flatnonzero(classes == name):
        h = steps.get(name, 1e-4)
        up, dn = p.copy(), p.copy()
        up[k] += h
        dn[k] -= h
        numeric = (chisq(up)[0] - chisq(dn)[0]) / (2 * h)
        assert abs(grad[k] - numeric) <= 1e-3 * abs(numeric) + 1e-12, (name, k, grad[k], numeric)


def test_step_units_are_positive_and_shared_within_an_atmosphere_class(problem):
    chisq, layout, p = problem
    units, touched = step_units(chisq, p, layout.class_of())
    assert touched[: 6 * layout.n_nights].all()
    assert np.all(units > 0)
    for k in range(6):
        assert np.ptp(units[layout.atm(k)]) == 0.0


def test_chromaticity_prior_gradient_matches_central_differences():
    pb = AnalyticPassbands()
    data, layout, p = synthetic_fit_data(pb)
    chisq = Chisq(data, pb, layout, pb.std, np.ones(layout.size, dtype=bool), chromaticity_prior=0.5)
    _, grad = chisq(p)
    for k in np.flatnonzero(layout.class_of() == "ccd_chromaticity")[:6]:
        up, dn = p.copy(), p.copy()
        up[k] += 1e-3
        dn[k] -= 1e-3
        numeric = (chisq(up)[0] - chisq(dn)[0]) / 2e-3
        assert abs(grad[k] - numeric) <= 1e-3 * abs(numeric) + 1e-12


def test_effective_i10_is_the_magnitudes_i10_plus_each_detectors_pinned_chromaticity_offset(problem):
    chisq, layout, p = problem
    q = p.copy()
    q[layout.chrom] = np.linspace(-1.0, 1.0, layout.chrom.stop - layout.chrom.start)
    _, (_, _, _, i10, i10_eff) = chisq.magnitudes(q)
    eff = chisq.effective_i10(q)
    assert np.array_equal(eff, i10_eff)
    offset = pinned(q[layout.chrom].reshape(layout.n_filters, layout.n_detectors), chisq.chrom_weight)
    offset = offset.reshape(-1)[chisq.data.chrom_key]
    assert np.ptp(offset) > 0.5
    assert np.allclose(eff - i10, offset, rtol=0, atol=1e-9)


def test_aperture_monotonic_penalty_value_and_gradient_match_central_differences():
    """With a range, a correction that rises at a range end costs (derivative / width)^2 there; the
    penalty's gradient agrees with central differences, and a falling correction costs nothing."""
    pb = AnalyticPassbands()
    data, layout, p = synthetic_fit_data(pb)
    bounded = dataclasses.replace(data, aper_range=np.tile([-0.02, 0.03], (data.n_bands, 1)))
    free = np.ones(layout.size, dtype=bool)
    plain, penalised = Chisq(data, pb, layout, pb.std, free), Chisq(bounded, pb, layout, pb.std, free)
    q = p.copy()
    q[layout.aper] = [-1.0, -0.2, -1.5][: layout.n_bands]
    q[layout.aper2] = [0.0, 30.0, -5.0][: layout.n_bands]  # band 1 rises at the high end: -0.2 + 2*30*0.03 = 1.6
    expected = (1.6 / Chisq.APER_MONOTONIC_WIDTH) ** 2 / penalised.dof
    assert penalised(q)[0] - plain(q)[0] == pytest.approx(expected, rel=1e-9)
    _, grad = penalised(q)
    for k in [*range(layout.aper.start, layout.aper.stop), *range(layout.aper2.start, layout.aper2.stop)]:
        h = 1e-5
        up, dn = q.copy(), q.copy()
        up[k] += h
        dn[k] -= h
        numeric = (penalised(up)[0] - penalised(dn)[0]) / (2 * h)
        assert abs(grad[k] - numeric) <= 1e-3 * abs(numeric) + 1e-9, (k, grad[k], numeric)
    q[layout.aper2] = [0.0, 0.0, -5.0][: layout.n_bands]
    assert penalised(q)[0] == pytest.approx(plain(q)[0], rel=1e-12)
