-- fit_insert_star_mags: writes star_mags for one (run_id, cycle), one row per (star, band) with observations, from the registered
-- frame fit_star_mags_frame that fgcm_db/fit/tables.py builds from the cycle's arrays.
INSERT INTO star_mags (
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
)
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
FROM fit_star_mags_frame
