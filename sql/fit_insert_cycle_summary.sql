-- fit_insert_cycle_summary: writes cycle_summary for one (run_id, cycle), one row per band, from the registered
-- frame fit_cycle_summary_frame that fgcm_db/fit/tables.py builds from the cycle's arrays.
INSERT INTO cycle_summary (
    run_id,
    cycle,
    band,
    n_visits,
    n_visits_photometric,
    n_stars,
    chi2_per_dof,
    repeatability_mmag,
    crunched_repeatability_mmag,
    sigma_fgcm_mmag,
    sigma_cal_mmag,
    exp_gray_cut_low,
    exp_gray_cut_high,
    next_exp_gray_cut_low,
    next_exp_gray_cut_high,
    n_evaluations,
    optimizer_status,
    converged
)
SELECT
    run_id,
    cycle,
    band,
    n_visits,
    n_visits_photometric,
    n_stars,
    chi2_per_dof,
    repeatability_mmag,
    crunched_repeatability_mmag,
    sigma_fgcm_mmag,
    sigma_cal_mmag,
    exp_gray_cut_low,
    exp_gray_cut_high,
    next_exp_gray_cut_low,
    next_exp_gray_cut_high,
    n_evaluations,
    optimizer_status,
    converged
FROM fit_cycle_summary_frame
