-- products_bands: the bands of cycle $cycle of run $run_id (one row per band with visits), from exp_gray.
SELECT DISTINCT band
FROM exp_gray
WHERE run_id = $run_id
  AND cycle = $cycle
ORDER BY band
