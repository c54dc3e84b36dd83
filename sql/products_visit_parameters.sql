-- products_visit_parameters: the fitted atmosphere of every visit of cycle $cycle of run $run_id (one row
-- per visit), from visit_atmosphere as just written: the inputs of the transmission curves.
SELECT
    visit,
    airmass,
    pmb,
    pwv,
    o3,
    tau,
    alpha
FROM visit_atmosphere
WHERE run_id = $run_id
ORDER BY visit
