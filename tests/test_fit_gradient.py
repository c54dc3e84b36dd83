"""The analytic gradient of the profiled chi-square agrees with finite differences on every class."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fgcm_db.fit.chisq import Chisq, minimize, step_units
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


def test_cloud_terms_value_and_gradient_match_central_differences():
    """The per-visit cloud terms: the penalty is lambda_v |c_v| on top of the chi-square, and the analytic
    gradient of both agrees with central differences (on the cloud terms and, through the profiled
    means, on the atmosphere they share observations with)."""
    pb = AnalyticPassbands()
    data, layout, p = synthetic_fit_data(pb)
    n_visits = len(data.visit_night)
    chisq = Chisq(data, pb, layout, pb.std, np.ones(layout.size + n_visits, dtype=bool), cloud_threshold=0.01)
    assert chisq.size == layout.size + n_visits and len(chisq.cloud_penalty) == n_visits
    assert np.all(chisq.cloud_penalty > 0)
    q = np.concatenate([p, -np.abs(np.random.default_rng(5).normal(0, 0.03, n_visits))])
    plain = Chisq(data, pb, layout, pb.std, np.ones(layout.size, dtype=bool))
    m_cloud, _ = chisq.magnitudes(q)
    m_plain, _ = plain.magnitudes(p)
    assert np.allclose(m_cloud - m_plain, q[layout.size:][data.visit], rtol=0, atol=1e-12)
    chi2_cloud = float(np.sum(data.weight * chisq.residuals(m_cloud) ** 2))
    expected = (chi2_cloud + float(np.dot(chisq.cloud_penalty, -q[layout.size:]))) / chisq.dof
    assert chisq(q)[0] == pytest.approx(expected, rel=1e-12)
    _, grad = chisq(q)
    for k in [*range(layout.size, layout.size + n_visits), *range(layout.atm(4).start, layout.atm(4).stop)]:
        h = 1e-5 if k >= layout.size else 1e-4
        up, dn = q.copy(), q.copy()
        up[k] += h
        dn[k] -= h
        numeric = (chisq(up)[0] - chisq(dn)[0]) / (2 * h)
        assert abs(grad[k] - numeric) <= 1e-3 * abs(numeric) + 1e-9, (k, grad[k], numeric)


def test_cloud_term_takes_only_the_excess_of_a_cloud_over_the_threshold():
    """Data that the model fits exactly except one visit 50 mmag fainter: with only the cloud terms free,
    that visit's term is -(50 - 10) mmag (the soft threshold) and every other visit's stays 0."""
    pb = AnalyticPassbands()
    data, layout, p = synthetic_fit_data(pb)
    n_visits = len(data.visit_night)
    model = Chisq(data, pb, layout, pb.std, np.zeros(layout.size, dtype=bool))
    m, _ = model.magnitudes(p)
    star_truth = np.random.default_rng(8).normal(18.0, 1.0, data.n_groups)[data.group]
    cloudy = 7
    m_const = data.m_const - m + star_truth + np.where(data.visit == cloudy, 0.050, 0.0)
    exact = dataclasses.replace(data, m_const=m_const)
    free = np.concatenate([np.zeros(layout.size, dtype=bool), np.ones(n_visits, dtype=bool)])
    chisq = Chisq(exact, pb, layout, pb.std, free, cloud_threshold=0.010)
    q0 = np.concatenate([p, np.zeros(n_visits)])
    classes = np.concatenate([layout.class_of(), np.full(n_visits, "visit_cloud", dtype=object)])
    units, _ = step_units(chisq, q0, classes)
    lower = np.concatenate([np.full(layout.size, -np.inf), np.full(n_visits, -2.0)])
    upper = np.concatenate([np.full(layout.size, np.inf), np.zeros(n_visits)])
    out = minimize(chisq, q0, lower, upper, units, max_iter=200, gtol=1e-10)
    cloud = out.p[layout.size:]
    assert cloud[cloudy] == pytest.approx(-0.040, abs=2e-4)
    assert np.all(np.delete(cloud, cloudy) > -2e-4)
