-- fit_load_star_flags: the rows of star_flags of one (run_id, cycle), one row per star, to rebuild a cycle's state.
SELECT
    run_id,
    cycle,
    star_id,
    flag,
    reserved
FROM star_flags
WHERE run_id = $run_id AND cycle = $cycle
