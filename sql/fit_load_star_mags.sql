-- fit_load_star_mags: the rows of star_mags of one (run_id, cycle), one row per (star, band) with observations, to rebuild a cycle's state.
SELECT
    run_id,
    cycle,
    star_id,
    band,
    mag_std,
    mag_std_err,
    mag_std_raw,
    n_good,
    n_total,
    sed_slope,
    mag_colour
FROM star_mags
WHERE run_id = $run_id AND cycle = $cycle
