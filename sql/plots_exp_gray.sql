-- plots_exp_gray: per visit of run $run_id, final cycle $cycle: band, exposure gray, photometric flag and
-- the exposure-gray cuts the cycle used (one row per visit), from exp_gray and cycle_summary.
SELECT
    e.visit,
    e.band,
    e.exp_gray,
    e.photometric,
    c.exp_gray_cut_low,
    c.exp_gray_cut_high
FROM exp_gray AS e
LEFT JOIN cycle_summary AS c
    ON c.run_id = e.run_id AND c.cycle = e.cycle AND c.band = e.band
WHERE e.run_id = $run_id
  AND e.cycle = $cycle
ORDER BY e.visit
