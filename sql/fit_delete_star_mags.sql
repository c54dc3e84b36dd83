-- fit_delete_star_mags: removes the rows of star_mags of one (run_id, cycle) before they are rewritten.
DELETE FROM star_mags WHERE run_id = $run_id AND cycle = $cycle
