-- fit_insert_night_atmosphere: writes night_atmosphere for one (run_id, cycle), one row per observing night, from the registered
-- frame fit_night_atmosphere_frame that fgcm_db/fit/tables.py builds from the cycle's arrays.
INSERT INTO night_atmosphere (
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
)
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
FROM fit_night_atmosphere_frame
