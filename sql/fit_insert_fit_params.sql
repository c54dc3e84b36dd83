-- fit_insert_fit_params: writes fit_params for one (run_id, cycle), one row per fit parameter or computed instrument term, from the registered
-- frame fit_fit_params_frame that fgcm_db/fit/tables.py builds from the cycle's arrays.
INSERT INTO fit_params (
    run_id,
    cycle,
    param,
    night,
    wash,
    band,
    physical_filter,
    detector,
    value,
    lower_bound,
    upper_bound,
    free,
    at_bound,
    step_unit,
    pivot_mjd
)
SELECT
    run_id,
    cycle,
    param,
    night,
    wash,
    band,
    physical_filter,
    detector,
    value,
    lower_bound,
    upper_bound,
    free,
    at_bound,
    step_unit,
    pivot_mjd
FROM fit_fit_params_frame
