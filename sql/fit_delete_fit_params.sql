-- fit_delete_fit_params: removes the rows of fit_params of one (run_id, cycle) before they are rewritten.
DELETE FROM fit_params WHERE run_id = $run_id AND cycle = $cycle
