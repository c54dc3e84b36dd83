-- fit_delete_ccd_gray: removes the rows of ccd_gray of one (run_id, cycle) before they are rewritten.
DELETE FROM ccd_gray WHERE run_id = $run_id AND cycle = $cycle
