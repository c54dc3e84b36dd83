-- fit_delete_zeropoints: removes the rows of zeropoints of one (run_id, cycle) before they are rewritten.
DELETE FROM zeropoints WHERE run_id = $run_id AND cycle = $cycle
