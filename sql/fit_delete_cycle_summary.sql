-- fit_delete_cycle_summary: removes the rows of cycle_summary of one (run_id, cycle) before they are rewritten.
DELETE FROM cycle_summary WHERE run_id = $run_id AND cycle = $cycle
