-- fit_delete_superstar: removes the rows of superstar of one (run_id, cycle) before they are rewritten.
DELETE FROM superstar WHERE run_id = $run_id AND cycle = $cycle
