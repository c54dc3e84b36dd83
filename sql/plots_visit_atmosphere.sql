-- plots_visit_atmosphere: the fitted atmosphere of every visit of run $run_id (one row per visit, in time
-- order), from visit_atmosphere.
SELECT
    visit,
    band,
    night,
    mjd,
    pwv,
    tau,
    alpha,
    o3,
    gray_mag,
    photometric
FROM visit_atmosphere
WHERE run_id = $run_id
ORDER BY mjd
