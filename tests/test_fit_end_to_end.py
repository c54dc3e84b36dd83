"""Issue 6 acceptance on seeded simulated tracts: zero-points, stars, colours, atmosphere, selection.

The ``small`` preset runs the cycle protocol: cycle 0 (standard atmosphere), cycles 1-2 (fits), cycle 3
(final, no fit). Criteria the fit does not meet yet are marked ``xfail(strict=True)`` with the value
measured when they were written, so that they turn into failures the day they pass; criteria met on this
seed but not on seed 2 are ``xfail(strict=False)`` (not robust yet); the regression guards below them
hold the levels reached.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from fgcm_db.config import load_config
from fgcm_db.db import Database
from fgcm_db.fit.cycle import fit_cycle
from fit_truth import fit_accuracy
from tract_fixtures import copy_db, small_tract, tiny_tract  # noqa: F401  (fixtures)

N_FIT_CYCLES = 3


def run_chain(db_path, overrides: dict, n_fit: int = N_FIT_CYCLES):
    """Cycles 0..n_fit-1 and a final cycle in one stage; returns (run_id, final cycle number)."""
    config = load_config(overrides={"fit": overrides})
    with Database(db_path) as db, db.stage("fit-test", config.to_dict()) as run_id:
        previous = None
        for cycle in range(n_fit + 1):
            previous = fit_cycle(db, config, run_id, cycle, previous, final=cycle == n_fit)
    return run_id, n_fit


@pytest.fixture(scope="module")
def small_fit_run(small_tract, tmp_path_factory):  # noqa: F811
    """(database, run_id, final cycle) of the default chain on the small tract."""
    db = copy_db(small_tract, tmp_path_factory.mktemp("fit_small") / "fit.duckdb")
    run_id, cycle = run_chain(db, {"wash_mjds": [small_tract.info["wash_mjd"]]})
    return db, run_id, cycle


@pytest.fixture(scope="module")
def small_fit(small_tract, small_fit_run):  # noqa: F811
    db, run_id, cycle = small_fit_run
    return fit_accuracy(db, small_tract.sim, run_id, cycle)


@pytest.fixture(scope="module")
def small_fit_no_chromatic(small_tract, tmp_path_factory):  # noqa: F811
    db = copy_db(small_tract, tmp_path_factory.mktemp("fit_small_nochrom") / "fit.duckdb")
    run_id, cycle = run_chain(db, {"wash_mjds": [small_tract.info["wash_mjd"]], "chromatic_correction": False})
    return fit_accuracy(db, small_tract.sim, run_id, cycle)


# -- acceptance (issue 6) ------------------------------------------------------------------------
@pytest.mark.xfail(strict=False, reason="not robust: seed 1 g 1.94, r 1.54, i 1.58, z 1.45 mmag (passes), "
                                        "seed 2 g 2.4, r 1.9, i 1.7, z 2.3; 16-seed mean g 2.47 (per-detector and "
                                        "per-(visit, detector) errors dominate); see README, The FGCM fit, Measured")
def test_small_photometric_zeropoints_within_2mmag_rms_of_truth(small_fit):
    assert max(small_fit.phot_zp_rms.values()) <= 0.002, small_fit.phot_zp_rms


@pytest.mark.xfail(strict=False, reason="not robust: seed 1 g 2.5, r 1.9, i 2.3, z 2.3 mmag (passes), seed 2 g 3.5, "
                                        "r 2.8, i 2.1, z 4.0 (misclassified cloudy visits); see README, The FGCM fit, Measured")
def test_small_all_calibrated_zeropoints_within_4mmag_rms_of_truth(small_fit):
    assert max(small_fit.all_zp_rms.values()) <= 0.004, small_fit.all_zp_rms


@pytest.mark.xfail(strict=True, reason="measured 2.2-3.7 mmag rms (z 3.7; seed 2 2.6-4.2): in z an oracle "
                                       "knowing every zero-point reaches only 2.9 (seed 2 3.1) from the noise; see "
                                       "README, The FGCM fit, Measured")
def test_small_bright_star_magnitudes_within_3mmag_rms_of_truth(small_fit):
    assert max(small_fit.star_rms.values()) <= 0.003, small_fit.star_rms


@pytest.mark.xfail(strict=False, reason="not robust: seed 1 g -0.34, r -0.22, i -0.05, z -0.50 mmag/mag (passes), "
                                        "seed 2 g -0.9, z 0.8, seed 3 g -1.0; see README, The FGCM fit, Measured")
def test_small_colour_residual_slope_within_1mmag_per_mag(small_fit):
    assert max(abs(s) for s in small_fit.colour_slope.values()) <= 0.001, small_fit.colour_slope


@pytest.mark.xfail(strict=True, reason="PWV off by 0.23-1.6 mm (5 of 7 nights > 0.5 mm; seed 2 up to 2.9): "
                                       "clouds on every visit of a band on a night are absorbed by that band's "
                                       "atmosphere term, and it trades against the aperture correction and the "
                                       "post-wash QE step (0.87 mm even with the truth's photometric selection, "
                                       "seeds 1-8); see README, The FGCM fit, Measured")
def test_small_nightly_pwv_within_half_mm(small_fit):
    assert small_fit.pwv_err, "no night with >= 5 photometric visits"
    assert max(small_fit.pwv_err.values()) <= 0.5, small_fit.pwv_err


def test_small_nightly_tau_within_0p01(small_fit):
    assert small_fit.tau_err, "no night with >= 5 photometric visits"
    assert max(small_fit.tau_err.values()) <= 0.01, small_fit.tau_err


@pytest.mark.xfail(strict=False, reason="not robust: seed 1 93.5% kept, 100% rejected, seed 2 85%, 91%: clear "
                                        "visits on mostly cloudy nights, nightly atmosphere errors against the 5 mmag "
                                        "floor of the automatic cuts; see README, The FGCM fit, Measured")
def test_small_photometric_classification_95_percent_both_ways(small_fit):
    assert small_fit.photometric_kept >= 0.95 and small_fit.cloudy_rejected >= 0.95


def test_small_aperture_correction_never_rises_with_the_delta_aperture(small_fit_run):
    """Each band's fitted correction, slope x + curvature q(x), falls (or stays flat) across the range of
    delta-aperture offsets its fit saw, within the 0.003 mag/mag width of the penalty that holds it there
    (without it seed 2's z curvature sat at its -50 bound with the derivative +0.5 at the low end)."""
    db, run_id, cycle = small_fit_run
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT band, param, value FROM fit_params WHERE run_id = ? AND cycle = ? "
                       "AND param LIKE 'aper_corr_%'", [run_id, cycle]).fetchall()
    con.close()
    par = {(band, name): value for band, name, value in rows}
    bands = sorted({band for band, _ in par})
    assert bands == ["g", "i", "r", "z"]
    for band in bands:
        low, high = par[band, "aper_corr_range_low"], par[band, "aper_corr_range_high"]
        assert low < 0.0 < high, (band, low, high)
        slope, curvature = par[band, "aper_corr_slope"], par[band, "aper_corr_curvature"]
        for end in (low, high):
            assert slope + 2.0 * curvature * end <= 0.01, (band, slope, curvature, end)


def test_chromatic_correction_off_is_measurably_worse_in_the_colour_slope(small_fit, small_fit_no_chromatic):
    """Without the chromatic correction the per-observation passband differences (atmosphere and
    detectors) no longer cancel in the star means."""
    assert abs(small_fit_no_chromatic.colour_slope["g"]) > 1.5 * abs(small_fit.colour_slope["g"])


def test_chromatic_correction_off_is_measurably_worse_in_g_zeropoints(small_fit, small_fit_no_chromatic):
    """The chromatic path is live: without it the per-detector passband differences (edge shifts in the
    simulator) leak into g zero-points (measured 8.2 vs 2.1 mmag)."""
    assert small_fit_no_chromatic.phot_zp_rms["g"] > 1.5 * small_fit.phot_zp_rms["g"], (
        small_fit.phot_zp_rms, small_fit_no_chromatic.phot_zp_rms)


# -- regression guards at the levels reached ---------------------------------------------------------
def test_small_zeropoints_and_stars_hold_the_levels_reached(small_fit):
    assert max(small_fit.phot_zp_rms.values()) <= 0.0025, small_fit.phot_zp_rms
    assert max(small_fit.all_zp_rms.values()) <= 0.004, small_fit.all_zp_rms
    assert max(small_fit.star_rms.values()) <= 0.005, small_fit.star_rms
    # kept: 0.92 before the simulator's cosmic-ray flags and the cross-band cloud rule, 0.89 after (clear
    # visits of mostly cloudy nights), 0.97 once a clouded night's too-positive visits became its clear
    # reference and unfitted nights went back to the standard atmosphere (rejected 1.00 -> 0.97); with
    # variable stars flagged, kept 0.97 -> 0.935 and rejected 0.97 -> 1.00: the visit under 0.023 mag of
    # cloud that had made up night 60703's third photometric visit is rejected, which leaves that night two
    # clear visits, too few to fit (min_exp_per_night 3), and a clear r visit of night 60709 reads 8 mmag
    # too faint, beyond the automatic cut. Over seeds 1-8 kept went 0.926 -> 0.933, rejected 0.880 -> 0.906.
    # With colours for the SED slopes taken from cloudy visits where a band has no photometric one, the
    # 0.023 mag visit is photometric again, night 60703 is fitted: kept 0.935 -> 0.957, rejected 1.00 ->
    # 0.972 (seeds 1-8: kept 0.933 -> 0.926, rejected 0.906 -> 0.900, one visit either way per seed).
    # With the aperture correction held non-increasing over its fitted range (and continued along its
    # tangent beyond it) the same visit goes the other way again: kept 0.957 -> 0.935, rejected 0.972 ->
    # 1.00 (seeds 1-8: kept 0.926 -> 0.952, rejected 0.900 -> 0.902). The guard follows seed 1; the 95 %
    # acceptance above is unchanged.
    assert small_fit.photometric_kept >= 0.93 and small_fit.cloudy_rejected >= 0.99


def test_small_bright_variable_stars_are_flagged_and_constant_stars_are_not(small_fit):
    """Of the variables brighter than 20 mag with >= 0.05 mag semi-amplitude that the fit would use, at
    least 60% are flagged VARIABLE (seeds 1-8: 86, 93, 79, 65, 93, 76, 61, 85%; the others fail the test
    in fewer than two bands, e.g. a 0.1 mag variable with 9 photometric z observations and 1-3 in each
    other band), and no constant star is (none on seeds 1-8)."""
    assert small_fit.variables_flagged >= 0.6, small_fit.variables_flagged
    assert small_fit.constant_flagged == 0, small_fit.constant_flagged


def test_same_inputs_give_the_same_zeropoints_to_1e9_mag(tiny_tract, tmp_path):  # noqa: F811
    runs = []
    for k in range(2):
        db = copy_db(tiny_tract, tmp_path / f"run{k}.duckdb")
        run_id, cycle = run_chain(db, {"min_star_per_exp": 20}, n_fit=2)
        runs.append(fit_accuracy(db, tiny_tract.sim, run_id, cycle).zeropoints)
    a, b = runs
    assert a.height == b.height > 0
    assert (a["visit"] == b["visit"]).all() and (a["detector"] == b["detector"]).all()
    assert np.max(np.abs(a["zp"].to_numpy() - b["zp"].to_numpy())) <= 1e-9


def test_fit_cycle_command_chains_cycles_through_the_tables(tiny_tract, tmp_path):  # noqa: F811
    from fgcm_db.cli import main

    db = copy_db(tiny_tract, tmp_path / "cli.duckdb")
    cfg = tmp_path / "fit.toml"
    cfg.write_text("[fit]\nmin_star_per_exp = 20\nmax_iter = 10\n")
    assert main(["--db", str(db), "fit-cycle", "--config", str(cfg)]) == 0
    assert main(["--db", str(db), "fit-cycle", "--config", str(cfg)]) == 0
    assert main(["--db", str(db), "fit-cycle", "--cycle", "1", "--config", str(cfg)]) == 0  # replaces cycle 1
    assert main(["--db", str(db), "fit-cycle", "--cycle", "5", "--config", str(cfg)]) == 2  # cycle 4 missing
    with Database(db, read_only=True) as d:
        cycles = d.con.execute("SELECT cycle, count(DISTINCT run_id) FROM cycle_summary GROUP BY cycle "
                               "ORDER BY cycle").fetchall()
        n_zp = d.con.execute("SELECT count(*) FROM zeropoints WHERE cycle = 1").fetchone()[0]
        n_expected = d.con.execute("SELECT (SELECT count(*) FROM visits) * (SELECT count(*) FROM detectors)"
                                   ).fetchone()[0]
        comments = d.con.execute("SELECT count(*) FROM duckdb_columns() WHERE table_name = 'zeropoints' "
                                 "AND comment IS NULL").fetchone()[0]
    assert cycles == [(0, 1), (1, 1)]
    assert n_zp == n_expected and comments == 0
