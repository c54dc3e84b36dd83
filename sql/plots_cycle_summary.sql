-- plots_cycle_summary: the convergence history of run $run_id (one row per cycle and band), from
-- cycle_summary.
SELECT
    cycle,
    band,
    repeatability_mmag,
    chi2_per_dof,
    n_visits_photometric
FROM cycle_summary
WHERE run_id = $run_id
ORDER BY cycle, band
