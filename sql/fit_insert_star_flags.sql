-- fit_insert_star_flags: writes star_flags for one (run_id, cycle), one row per star, from the registered
-- frame fit_star_flags_frame that fgcm_db/fit/tables.py builds from the cycle's arrays.
INSERT INTO star_flags (
    run_id,
    cycle,
    star_id,
    flag,
    reserved
)
SELECT
    run_id,
    cycle,
    star_id,
    flag,
    reserved
FROM fit_star_flags_frame
