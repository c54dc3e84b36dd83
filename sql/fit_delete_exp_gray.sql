-- fit_delete_exp_gray: removes the rows of exp_gray of one (run_id, cycle) before they are rewritten.
DELETE FROM exp_gray WHERE run_id = $run_id AND cycle = $cycle
