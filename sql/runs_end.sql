-- runs_end: how the command of run $run_id ended: finished time, status ('ok', 'failed',
-- 'interrupted') and the error message.
UPDATE runs SET finished = now(), status = $status, error = $error WHERE run_id = $run_id
