-- fit_latest_cycle: the most recent successful `fgcm-db fit-cycle` run and the last cycle it wrote
-- (one row, or none), from runs and cycle_summary.
SELECT
    cs.run_id,
    max(cs.cycle) AS cycle
FROM cycle_summary AS cs
JOIN runs AS r ON r.run_id = cs.run_id
WHERE r.command = 'fit-cycle' AND r.status = 'ok'
GROUP BY cs.run_id
ORDER BY cs.run_id DESC
LIMIT 1
