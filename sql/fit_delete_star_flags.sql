-- fit_delete_star_flags: removes the rows of star_flags of one (run_id, cycle) before they are rewritten.
DELETE FROM star_flags WHERE run_id = $run_id AND cycle = $cycle
