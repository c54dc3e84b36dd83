-- fit_load_night_atmosphere: the rows of night_atmosphere of one (run_id, cycle), one row per observing night, to rebuild a cycle's state.
SELECT
    run_id,
    cycle,
    night,
    pivot_mjd,
    fitted,
    n_visits,
    n_visits_photometric,
    o3,
    alpha,
    ln_pwv_intercept,
    ln_pwv_slope,
    ln_tau_intercept,
    ln_tau_slope,
    pwv_mean,
    tau_mean
FROM night_atmosphere
WHERE run_id = $run_id AND cycle = $cycle
