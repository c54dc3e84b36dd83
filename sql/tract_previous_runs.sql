-- tract_previous_runs: the calibrate-tract runs that wrote tract $tract (NULL = the whole-database
-- tract) before, one row per run_id, from tract_summary; their fit rows are replaced by a new run.
SELECT DISTINCT run_id
FROM tract_summary
WHERE tract IS NOT DISTINCT FROM $tract
ORDER BY run_id
