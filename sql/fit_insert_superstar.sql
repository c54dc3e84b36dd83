-- fit_insert_superstar: writes superstar for one (run_id, cycle), one row per (epoch, physical filter, detector), from the registered
-- frame fit_superstar_frame that fgcm_db/fit/tables.py builds from the cycle's arrays.
INSERT INTO superstar (
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
)
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
FROM fit_superstar_frame
