"""The sub-detector superstar flat (FGCM_ALGORITHM.md 3.5) and its photo_calib Chebyshev field.

Unit tests on constructed residuals, then the ``small`` simulated tract (seed 1) fitted twice in one
database, with ``[fit] superstar_sub_ccd_order`` 0 and 1: the simulator puts a linear throughput gradient
(~0.3 %) and a focal-plane illumination pattern on every detector, which the constant superstar cannot
describe within a detector.
"""

from __future__ import annotations

import numpy as np
import pytest
from fit_truth import fit_accuracy, within_detector_slopes
from tract_fixtures import copy_db, small_tract  # noqa: F401  (fixture)

from fgcm_db import products as P
from fgcm_db.config import load_config
from fgcm_db.db import Database
from fgcm_db.fit import subccd
from fgcm_db.fit.cycle import fit_cycle

N_FIT_CYCLES = 3


# -- unit ------------------------------------------------------------------------------------------
def _constructed(order: int, seed: int, n_keys: int = 6, n_obs: int = 6000, noise: float = 0.002):
    rng = np.random.default_rng(seed)
    key = rng.integers(0, n_keys, n_obs)
    uv = rng.uniform(-1.0, 1.0, (n_obs, 2)).astype(np.float32)
    true = rng.normal(0.0, 0.003, (n_keys, subccd.n_coeffs(order)))
    resid = subccd.evaluate(true, key, uv, order) + rng.normal(0.0, noise, n_obs)
    return key, uv, true, resid, np.full(n_obs, noise ** 2)


@pytest.mark.parametrize("order", [1, 2])
def test_sub_ccd_fit_recovers_a_known_gradient_from_constructed_residuals(order):
    key, uv, true, resid, var = _constructed(order, seed=11)
    resid[::500] += 0.2  # outliers: the MAD clip must drop them
    shape, fitted, outlier = subccd.fit_shape(key, 6, uv, resid, var, order, False, 5.0)
    assert fitted.all()
    assert outlier[::500].all() and outlier.sum() <= len(outlier[::500]) + 10
    # the shape is the truth less its value at the centre, to within the noise (each coefficient: 0.002 / sqrt(1000 var T_i T_j) <= 0.2 mmag)
    expect = subccd.remove_centre(true, order)
    assert np.max(np.abs(shape - expect)) < 0.0008
    assert np.allclose(shape @ subccd.centre_values(order), 0.0, atol=1e-15)
    grid = np.linspace(-1, 1, 7)
    u, v = (a.reshape(-1) for a in np.meshgrid(grid, grid))
    k = np.repeat(np.arange(6), len(u))
    uvg = np.tile(np.stack([u, v], axis=1), (6, 1))
    diff = subccd.evaluate(shape, k, uvg, order) - subccd.evaluate(expect, k, uvg, order)
    assert np.sqrt(np.mean(diff ** 2)) < 0.0005


def test_triangular_fit_leaves_the_cross_terms_at_zero_and_few_observations_keep_no_shape():
    key, uv, _, resid, var = _constructed(2, seed=12)
    shape, fitted, _ = subccd.fit_shape(key, 6, uv, resid, var, 2, True, 5.0)
    mask = subccd.term_mask(2, True)
    assert fitted.all() and not mask[[5, 7, 8]].any()
    assert np.all(shape[:, 5] == 0) and np.all(shape[:, 7] == 0) and np.all(shape[:, 8] == 0)
    few = key == 0
    keep = ~few | (np.cumsum(few) <= 10 * 4 - 1)  # key 0: one short of 10 per fitted coefficient (order 1)
    s1, f1, _ = subccd.fit_shape(key[keep], 6, uv[keep], resid[keep], var[keep], 1, False, 5.0)
    assert not f1[0] and np.all(s1[0] == 0) and f1[1:].all()


def test_basis_follows_the_photo_calib_layout():
    """c[j (n+1) + i] multiplies T_i(u) T_j(v): the same field as products.chebyshev_field."""
    rng = np.random.default_rng(3)
    c = rng.normal(size=9)
    x, y = rng.uniform(0, 2048, 20), rng.uniform(0, 4176, 20)
    u, v = (x + 0.5 - 1024) / 1024, (y + 0.5 - 2088) / 2088
    assert np.allclose(subccd.basis(u, v, 2) @ c, P.chebyshev_field(c, x, y, 2048, 4176), rtol=0, atol=1e-12)


# -- the small tract ---------------------------------------------------------------------------------
def _chain(db_path, order: int, wash_mjd: float):
    config = load_config(overrides={"fit": {"wash_mjds": [wash_mjd], "superstar_sub_ccd_order": order}})
    with Database(db_path) as db, db.stage("fit-test", config.to_dict()) as run_id:
        result = None
        for cycle in range(N_FIT_CYCLES + 1):
            result = fit_cycle(db, config, run_id, cycle, result, final=cycle == N_FIT_CYCLES)
    return config, run_id, result


@pytest.fixture(scope="module")
def fitted(small_tract, tmp_path_factory):  # noqa: F811
    """Order 0 and order 1 on copies of the small tract; order 1 also writes the products."""
    out = {}
    for order in (0, 1):
        db = copy_db(small_tract, tmp_path_factory.mktemp(f"subccd{order}") / "fit.duckdb")
        config, run_id, result = _chain(db, order, small_tract.info["wash_mjd"])
        with Database(db) as d, d.stage("products-test", config.to_dict()):
            P.write_products(d, config, run_id, N_FIT_CYCLES, None)
        out[order] = (db, run_id, result)
    return out


def test_sub_ccd_superstar_flattens_the_residual_slope_within_detectors(fitted, small_tract):  # noqa: F811
    """Measured: seed 1 4.9 -> 1.85 mmag per half width rms (noise alone 1.3); seed 2 5.3 -> 2.6 (noise 1.4)."""
    before, noise = within_detector_slopes(fitted[0][0], small_tract.sim, fitted[0][2])
    after, _ = within_detector_slopes(fitted[1][0], small_tract.sim, fitted[1][2])
    assert before > 0.004, before
    assert after < 0.5 * before, (before, after)
    assert after < 2.0 * noise, (after, noise)


def test_sub_ccd_superstar_improves_the_bright_star_magnitudes(fitted, small_tract):  # noqa: F811
    """Measured rms vs truth, mmag, seed 1: g 3.27 -> 3.01, r 2.98 -> 2.49, i 3.21 -> 3.00, z 4.19 -> 3.96;
    seed 2: g 3.69 -> 3.21, r 3.29 -> 2.62, i 3.45 -> 3.29, z 4.71 -> 4.50."""
    acc = {o: fit_accuracy(fitted[o][0], small_tract.sim, fitted[o][1], N_FIT_CYCLES).star_rms for o in (0, 1)}
    assert np.mean(list(acc[1].values())) < np.mean(list(acc[0].values())) - 0.0001, acc


def test_order_zero_stores_no_polynomial_and_no_cheb_coeffs(fitted):
    db, _, result = fitted[0]
    assert result.outputs.state.sub_ccd is None
    with Database(db, read_only=True) as d:
        assert d.con.execute("SELECT count(*) FROM superstar WHERE superstar_cheb IS NOT NULL").fetchone()[0] == 0
        assert d.con.execute("SELECT count(*) FROM photo_calib WHERE cheb_coeffs IS NOT NULL").fetchone()[0] == 0


def test_superstar_table_holds_the_polynomial_with_the_superstar_at_the_centre(fitted):
    db, run_id, _ = fitted[1]
    with Database(db, read_only=True) as d:
        rows = d.con.execute("SELECT superstar, superstar_cheb FROM superstar WHERE run_id = ? AND cycle = ?",
                             [run_id, N_FIT_CYCLES]).fetchall()
    s = np.array([r[0] for r in rows])
    cheb = np.array([r[1] for r in rows])
    assert cheb.shape == (len(rows), 4)
    assert np.allclose(cheb @ subccd.centre_values(1), s, atol=1e-12)
    assert np.sqrt(np.mean(cheb[:, 1:] ** 2)) > 0.0005  # the simulated gradients were found


def test_calibrate_flux_applies_the_fit_sub_ccd_calibration_per_observation(fitted):
    """calib(x, y) reproduces zp_mag + S(u, v) - S(0, 0), the fit's calibration of each observation
    without its star-dependent parts (I0 at the star's own sec z, chromatic correction), to < 0.1 mmag;
    at the detector centre it is calib_mean."""
    db, _, result = fitted[1]
    inp, out = result.inputs, result.outputs
    with Database(db, read_only=True) as d:
        pc = P.load_photo_calib(d)
        zp = d.con.execute("SELECT visit, detector, zp_mag, bbox_width, bbox_height FROM photo_calib "
                           "ORDER BY visit, detector").fetchnumpy()
    assert sum(c is not None for c in pc.cheb_coeffs) == len(pc.cheb_coeffs) > 1000
    rng = np.random.default_rng(1)
    take = rng.choice(inp.n_obs, 20000, replace=False)
    visit, det = inp.visit_id[inp.obs_visit[take]], inp.detector_id[inp.obs_detector[take]]
    rows = pc.index(visit, det)
    take, visit, det, rows = take[rows >= 0], visit[rows >= 0], det[rows >= 0], rows[rows >= 0]
    nd = inp.n_detectors
    key = (out.visit_epoch[inp.obs_visit] * len(inp.filters) + inp.visit_filter[inp.obs_visit]) * nd + inp.obs_detector
    shape = subccd.evaluate(out.state.sub_ccd.reshape(-1, 4), key[take], inp.obs_uv[take].astype(np.float64), 1)
    w, h = zp["bbox_width"][rows].astype(np.float64), zp["bbox_height"][rows].astype(np.float64)
    x = (inp.obs_uv[take, 0].astype(np.float64) + 1.0) * w / 2.0 - 0.5
    y = (inp.obs_uv[take, 1].astype(np.float64) + 1.0) * h / 2.0 - 0.5
    ok = np.isfinite(x) & np.isfinite(y)
    mag = P.ab_mag(P.calibrate_flux(visit[ok], det[ok], x[ok], y[ok], np.ones(ok.sum()), source=pc))
    expect = zp["zp_mag"][rows][ok] + shape[ok]
    assert np.max(np.abs(mag - expect)) < 1e-4
    assert np.std(shape[ok]) > 0.0005  # the spatial term is really there
    centre = P.calibrate_flux(pc.visit, pc.detector, pc.bbox_width / 2.0 - 0.5, pc.bbox_height / 2.0 - 0.5,
                              np.ones(len(pc.visit)), source=pc)
    assert np.max(np.abs(2.5 * np.log10(centre / pc.calib_mean))) < 1e-4


def test_state_rebuilt_from_the_tables_carries_the_sub_ccd_shape(fitted):
    """A later ``fgcm-db fit-cycle`` process continues from the stored polynomial (tables.load_state)."""
    from fgcm_db.fit.tables import load_state

    db, run_id, result = fitted[1]
    with Database(db, read_only=True) as d:
        state = load_state(d, run_id, N_FIT_CYCLES, result.inputs, n_wash=2, n_epoch=1)
    assert state.sub_ccd.shape == result.outputs.state.sub_ccd.shape
    assert np.allclose(state.sub_ccd, result.outputs.state.sub_ccd, rtol=0, atol=1e-12)
    assert np.allclose(state.superstar, result.outputs.state.superstar, rtol=0, atol=1e-12)
