"""The look-up table: accuracy against direct integration, derivatives, database round trip, command."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fgcm_db.atmosphere import BuiltinAtmosphere, load_atmosphere
from fgcm_db.camera import hsc_like_camera, write_camera_yaml
from fgcm_db.configs.lut import LutConfig
from fgcm_db.db import Database
from fgcm_db.errors import FgcmDbError
from fgcm_db.lut import build_lut, direct_integrals, load_lut, run_make_lut, standard_passband, store_lut
from fgcm_db.sites import get_site
from fgcm_db.throughput import default_throughput, load_throughput

BANDS = ["HSC-G", "HSC-R", "HSC-I", "HSC-Z", "HSC-Y"]
MMAG = 1e-3


@pytest.fixture(scope="module")
def hsc(shared_data):
    """Built-in atmosphere, HSC per-detector throughput (detectors within 120 mm, to keep it quick), LUT."""
    atm = BuiltinAtmosphere(get_site("subaru"))
    camera = hsc_like_camera(max_radius_mm=120.0)
    thr = load_throughput(shared_data / "hsc", camera).select(BANDS)
    return atm, thr, build_lut(atm, thr, camera, LutConfig())


def random_points(lut, n, seed):
    rng = np.random.default_rng(seed)
    fi = rng.integers(0, len(lut.physical_filters), n)
    di = rng.integers(-1, len(lut.detectors), n)
    pwv_lo, pwv_hi = np.exp(lut.axes["lnpwv"][[0, -1]])
    pars = dict(
        pwv=np.exp(rng.uniform(np.log(pwv_lo), np.log(pwv_hi), n)), o3=rng.uniform(220, 310, n),
        tau=np.exp(rng.uniform(np.log(0.002), np.log(0.35), n)), alpha=rng.uniform(0, 2, n),
        secz=rng.uniform(1.0, lut.axes["secz"][-1], n), pressure=rng.normal(616.0, 4.0, n),
    )
    return fi, di, pars


def direct(atm, thr, lut, fi, di, pars):
    """I0, I1 by direct integration of instrument x atmosphere at each point."""
    lam = thr.wavelength_nm
    wq = np.gradient(lam)
    wq[[0, -1]] /= 2
    t = atm.transmission(lam, *[pars[p] for p in ("pwv", "o3", "tau", "alpha", "secz", "pressure")])
    curves = np.stack([thr.curve(lut.physical_filters[f], None if d < 0 else int(lut.detectors[d]))
                       for f, d in zip(fi, di)])
    s = curves * t * wq / lam
    return s.sum(axis=1), (s * (lam[None, :] - lut.lambda_std[fi][:, None])).sum(axis=1)


def test_lut_matches_direct_integration_within_0p2_mmag_at_random_points(hsc):
    atm, thr, lut = hsc
    fi, di, pars = random_points(lut, 400, seed=11)
    v = lut.evaluate(fi, di, **pars)
    i0, i1 = direct(atm, thr, lut, fi, di, pars)
    assert np.max(np.abs(2.5 * np.log10(v.i0 / i0))) < 0.2 * MMAG
    # chromatic term 2.5 log10(1 + F' I10) for stellar SED slopes F' up to +-0.02 per nm
    # (g - r ~ 3 mag across ~140 nm)
    for slope in (-0.02, 0.02):
        err = 2.5 * np.log10((1 + slope * v.i10) / (1 + slope * i1 / i0))
        assert np.max(np.abs(err)) < 0.2 * MMAG


def test_lut_derivatives_match_finite_differences_of_the_evaluator(hsc):
    _, _, lut = hsc
    fi, di, pars = random_points(lut, 200, seed=5)
    # stay away from cell boundaries, where the bilinear interpolant's slope jumps
    v = lut.evaluate(fi, di, **pars)
    # steps large enough to beat the float32 rounding of the tables, small enough for the curvature
    steps = {"lnpwv": ("pwv", 1e-3), "o3": ("o3", 0.5), "lntau": ("tau", 1e-2), "alpha": ("alpha", 1e-2),
             "secz": ("secz", 1e-3), "pressure": ("pressure", 0.5)}
    for name, (par, h) in steps.items():
        up, dn = dict(pars), dict(pars)
        if name.startswith("ln"):
            up[par], dn[par] = pars[par] * np.exp(h), pars[par] * np.exp(-h)
        else:
            up[par], dn[par] = pars[par] + h, pars[par] - h
        vu, vd = lut.evaluate(fi, di, **up), lut.evaluate(fi, di, **dn)
        for q in ("i0", "i1"):
            numeric = (getattr(vu, q) - getattr(vd, q)) / (2 * h)
            analytic = getattr(v, f"d{q}_d{name}")
            ok = np.abs(numeric - analytic) <= 1e-2 * np.abs(analytic).max() + 1e-9
            assert ok.mean() > 0.95, (name, q)   # a few points straddle a node


def test_standard_passband_and_lambda_std_are_consistent(hsc):
    atm, thr, lut = hsc
    for k, f in enumerate(lut.physical_filters):
        lam, s_std = standard_passband(atm, thr, f, get_site("subaru"))
        np.testing.assert_allclose(s_std, lut.std_passbands[k], rtol=1e-12)
        assert lut.lambda_std[k] == pytest.approx(np.sum(s_std) / np.sum(s_std / lam), rel=1e-9)
        assert abs(lut.i10_std[k]) < 1e-9       # I1 of the standard passband about its own mean wavelength
    np.testing.assert_allclose(lut.lambda_std, [477.5, 619.0, 765.0, 890.0, 978.0], atol=1.5)
    # the LUT at the standard atmosphere, focal-plane mean row, gives back I0_std
    std = lut.standard
    v = lut.evaluate(np.arange(5), -1, std["pwv_mm"], std["o3_du"], std["tau"], std["alpha"], std["airmass"],
                     std["pressure_hpa"])
    np.testing.assert_allclose(v.i0, lut.i0_std, rtol=5e-5)   # 0.05 mmag


def test_lut_round_trips_through_the_database(hsc, db_path):
    _, _, lut = hsc
    with Database(db_path) as db, db.stage("make-lut") as run_id:
        store_lut(db, lut, run_id)
    with Database(db_path, read_only=True) as db:
        back = load_lut(db)
        assert db.con.execute("SELECT count(*) FROM std_passband").fetchone()[0] == 5 * len(lut.wavelength_nm)
        cols = [r[0] for r in db.con.execute("DESCRIBE lut_std").fetchall()]
        assert {"physical_filter", "band", "lambda_std", "i0_std", "i10_std"} <= set(cols)
    np.testing.assert_array_equal(back.values, lut.values)
    assert back.physical_filters == lut.physical_filters and back.bands == ["g", "r", "i", "z", "y"]
    np.testing.assert_array_equal(back.detectors, lut.detectors)
    np.testing.assert_allclose(back.lambda_std, lut.lambda_std)
    np.testing.assert_allclose(back.std_passbands, lut.std_passbands)
    fi, di, pars = random_points(lut, 50, seed=3)
    np.testing.assert_array_equal(back.evaluate(fi, di, **pars).i0, lut.evaluate(fi, di, **pars).i0)
    assert back.detector_index([int(lut.detectors[2]), 10_000]).tolist() == [2, -1]


def test_make_lut_command_builds_from_modtran_table_and_hsc_components_and_is_idempotent(shared_data, tmp_path):
    db_path = tmp_path / "cmd.duckdb"
    cfg = tmp_path / "lut.toml"
    cfg.write_text('[lut]\nphysical_filters = ["HSC-G", "HSC-I"]\n')
    args = dict(atmosphere=shared_data / "atmosphere" / "fgcm_atm_subaru2_test.fits",
                throughput=shared_data / "hsc", camera=None, config_path=cfg)
    run_make_lut(db_path, **args)
    run_make_lut(db_path, **args)
    with Database(db_path, read_only=True) as db:
        assert db.con.execute("SELECT count(*) FROM lut_meta").fetchone()[0] == 1
        assert db.con.execute("SELECT count(*) FROM lut_values").fetchone()[0] == 2 * 105
        assert db.con.execute("SELECT physical_filter FROM lut_std ORDER BY filter_idx").fetchall() == [
            ("HSC-G",), ("HSC-I",)]
        assert db.con.execute("SELECT atmosphere_source FROM lut_meta").fetchone()[0] == "fgcm_atm_subaru2_test.fits"
        assert db.con.execute("SELECT count(*) FROM runs WHERE command = 'make-lut' AND status = 'ok'").fetchone()[0] == 2


def test_bad_inputs_fail_clearly_and_write_nothing(shared_data, tmp_path):
    from astropy.io import fits

    db_path = tmp_path / "bad.duckdb"
    bad_table = tmp_path / "no_o3.fits"
    with fits.open(shared_data / "atmosphere" / "fgcm_atm_subaru2_test.fits") as hdul:
        fits.HDUList([h.copy() for h in hdul if h.name != "O3ATM"]).writeto(bad_table)
    bad_tp = tmp_path / "tp.parquet"
    pq.write_table(pa.table({"physical_filter": ["X"] * 3, "wavelength": [500.0, 450.0, 600.0],
                             "throughput": [0.5] * 3}), bad_tp)
    camera = tmp_path / "camera.yaml"
    write_camera_yaml(hsc_like_camera().subset(hsc_like_camera().detector != 17), camera)
    det_tp = tmp_path / "det.parquet"
    pq.write_table(pa.table({"physical_filter": ["X"] * 3, "wavelength": [450.0, 500.0, 550.0],
                             "throughput": [0.5] * 3, "detector": [17] * 3}), det_tp)
    cfg = tmp_path / "lut.toml"
    cfg.write_text('[lut]\nphysical_filters = ["HSC-G", "HSC-Q"]\n')
    cases = [
        (dict(atmosphere=bad_table), "lacks extension.*O3ATM"),
        (dict(throughput=bad_tp), "strictly increasing"),
        (dict(throughput=det_tp, camera=camera), r"detector\(s\) \[17\]"),
        (dict(config_path=cfg), "no curve for physical filter 'HSC-Q'"),
    ]
    for kwargs, message in cases:
        with pytest.raises(FgcmDbError, match=message):
            run_make_lut(db_path, **kwargs)
    # a camera file that lacks a detector the ingested data use
    with Database(db_path) as db:
        db.con.execute("INSERT INTO detectors (detector, x_size, y_size, fp_x, fp_y, pixel_scale, rotation) "
                       "SELECT i, 2048, 4176, 0.0, 0.0, 0.168, 0.0 FROM range(104) t(i)")
    with pytest.raises(FgcmDbError, match=r"camera file .* lacks detector\(s\) \[17\] that the ingested data use"):
        run_make_lut(db_path, camera=camera)
    with Database(db_path, read_only=True) as db:
        for table in ("lut_meta", "lut_values", "lut_std", "std_passband", "std_atmosphere"):
            assert db.row_count(table) == 0, table


def test_default_make_lut_uses_embedded_hsc_throughput_and_builtin_model(tmp_path):
    lut = build_lut(load_atmosphere(None), default_throughput())
    assert lut.physical_filters == BANDS and len(lut.detectors) == 0
    assert lut.site == "subaru" and lut.standard["pressure_hpa"] == 616.0
    assert lut.evaluate(0, -1, 1.5, 263, 0.03, 1.0, 1.1, 616.0).i0[0] == pytest.approx(lut.i0_std[0], rel=5e-5)


def test_direct_integrals_helper_agrees_with_the_standard_integrals(hsc):
    atm, thr, lut = hsc
    std = lut.standard
    i0, i1 = direct_integrals(atm, thr, "HSC-R", None, lut.lambda_std[1], std["pwv_mm"], std["o3_du"], std["tau"],
                              std["alpha"], std["airmass"], std["pressure_hpa"])
    assert i0 == pytest.approx(lut.i0_std[1], rel=1e-12) and i1 == pytest.approx(lut.i1_std[1], abs=1e-12)


def test_lut_from_modtran_table_matches_direct_integration(shared_data):
    atm = load_atmosphere(shared_data / "atmosphere" / "fgcm_atm_subaru2_test.fits")
    thr = default_throughput().select(["HSC-G", "HSC-Y"])
    lut = build_lut(atm, thr)
    assert lut.site == "subaru" and lut.standard["pressure_hpa"] == pytest.approx(605.318, abs=1e-3)
    fi, di, pars = random_points(lut, 300, seed=8)
    pars["pressure"] = pars["pressure"] - 616.0 + 605.3
    v = lut.evaluate(fi, di, **pars)
    i0, i1 = direct(atm, thr, lut, fi, di, pars)
    assert np.max(np.abs(2.5 * np.log10(v.i0 / i0))) < 0.2 * MMAG
    assert np.max(np.abs(v.i10 - i1 / i0)) < 0.01
