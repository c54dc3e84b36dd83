"""QA plots (fgcm_db/plots.py) from hand-filled tables: every figure is drawn even when some inputs are
empty, and a database without a calibrate-tract run gives a clear error. The plots of a real
calibrated tract are checked in tests/test_tract.py."""

from __future__ import annotations

import pytest
from test_products import CYCLE, RUN, fill_tables, insert

from fgcm_db import products as P
from fgcm_db.config import load_config
from fgcm_db.db import Database
from fgcm_db.errors import FgcmDbError
from fgcm_db.plots import run_plots

FIGURES = ["atmosphere_vs_time.png", "convergence.png", "exp_gray_histograms.png", "focal_plane_gray.png",
           "focal_plane_zeropoints.png", "repeatability_vs_magnitude.png", "residuals_vs_colour.png"]


def test_every_figure_is_drawn_from_the_tables_alone(db_path, tmp_path):
    with Database(db_path) as db:
        fill_tables(db)
        P.write_products(db, load_config(), RUN, CYCLE, tract=None)
        for cycle, rep in ((0, 20.0), (1, 9.0), (2, 6.0), (3, 5.9)):
            for band in ("g", "r"):
                insert(db.con, "cycle_summary", dict(
                    run_id=RUN, cycle=cycle, band=band, n_visits=3, n_visits_photometric=2, n_stars=50,
                    chi2_per_dof=10.0 / (cycle + 1), repeatability_mmag=rep, sigma_fgcm_mmag=5.0, sigma_cal_mmag=2.0,
                    exp_gray_cut_low=-0.05, exp_gray_cut_high=0.2, exp_var_gray_cut=0.0025,
                    next_exp_gray_cut_low=-0.05, next_exp_gray_cut_high=0.2, next_exp_var_gray_cut=0.0025,
                    n_evaluations=40, optimizer_status="converged", converged=False))
        db.con.execute("INSERT INTO tract_summary VALUES (?, NULL, 'g', 3, 3, true, 5.9, 2, 59, 1.0)", [RUN])
    files = run_plots(db_path, tmp_path / "plots")
    assert sorted(p.name for p in files) == FIGURES
    assert all(p.stat().st_size > 5_000 for p in files)


def test_plots_need_a_calibrate_tract_run(db_path, tmp_path):
    Database(db_path).close()
    with pytest.raises(FgcmDbError, match="no calibrate-tract run"):
        run_plots(db_path, tmp_path)
