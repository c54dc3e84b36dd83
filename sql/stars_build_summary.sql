-- stars_build_summary (result set): the counts of the last build, summed over bands, in step order.
-- From: build_stats. Grain: one row per step.
SELECT step_order, step, CAST(sum(n) AS BIGINT) AS n
FROM build_stats
GROUP BY step_order, step
ORDER BY step_order;
