"""The analytic gradient of the profiled chi-square agrees with finite differences on every class."""

from __future__ import annotations

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
