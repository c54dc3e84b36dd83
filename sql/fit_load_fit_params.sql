-- fit_load_fit_params: the rows of fit_params of one (run_id, cycle), one row per fit parameter or computed instrument term, to rebuild a cycle's state.
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
FROM fit_params
WHERE run_id = $run_id AND cycle = $cycle
