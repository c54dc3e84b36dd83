-- fit_cycle_run: the most recent successful `fgcm-db fit-cycle` run that wrote cycle $cycle (one row
-- or none), from runs and cycle_summary.
SELECT
    max(cs.run_id) AS run_id
FROM cycle_summary AS cs
JOIN runs AS r ON r.run_id = cs.run_id
WHERE r.command = 'fit-cycle' AND r.status = 'ok' AND cs.cycle = $cycle
HAVING count(*) > 0
