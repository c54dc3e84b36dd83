-- products_superstar_cheb: the sub-detector superstar polynomials of cycle $cycle of run $run_id, one row per
-- (epoch, physical filter, detector) that has one (superstar.superstar_cheb, mag Chebyshev coefficients).
SELECT
    epoch,
    physical_filter,
    detector,
    superstar,
    superstar_cheb
FROM superstar
WHERE run_id = $run_id
  AND cycle = $cycle
  AND superstar_cheb IS NOT NULL
ORDER BY epoch, physical_filter, detector
