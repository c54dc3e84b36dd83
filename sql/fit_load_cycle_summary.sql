-- fit_load_cycle_summary: the rows of cycle_summary of one (run_id, cycle), one row per band, to rebuild a cycle's state.
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
    exp_var_gray_cut,
    next_exp_gray_cut_low,
    next_exp_gray_cut_high,
    next_exp_var_gray_cut,
    n_evaluations,
    optimizer_status,
    converged
FROM cycle_summary
WHERE run_id = $run_id AND cycle = $cycle
