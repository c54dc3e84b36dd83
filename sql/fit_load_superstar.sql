-- fit_load_superstar: the rows of superstar of one (run_id, cycle), one row per (epoch, physical filter, detector), to rebuild a cycle's state.
SELECT
    run_id,
    cycle,
    epoch,
    physical_filter,
    detector,
    superstar,
    superstar_applied,
    superstar_err,
    n_stars,
    superstar_cheb
FROM superstar
WHERE run_id = $run_id AND cycle = $cycle
