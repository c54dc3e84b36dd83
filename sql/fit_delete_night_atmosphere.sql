-- fit_delete_night_atmosphere: removes the rows of night_atmosphere of one (run_id, cycle) before they are rewritten.
DELETE FROM night_atmosphere WHERE run_id = $run_id AND cycle = $cycle
