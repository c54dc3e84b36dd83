-- plots_latest_run: the most recent calibrate-tract run (one row or none): its run_id, tract and final
-- cycle, from tract_summary.
SELECT
    run_id,
    tract,
    max(final_cycle) AS final_cycle
FROM tract_summary
GROUP BY run_id, tract
ORDER BY run_id DESC
LIMIT 1
