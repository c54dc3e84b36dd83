-- fit_delete_stale_ccd_gray: removes the rows of ccd_gray that earlier `fgcm-db fit-cycle` runs wrote for
-- cycles >= $cycle (re-running a cycle replaces it and invalidates the cycles after it).
DELETE FROM ccd_gray
WHERE cycle >= $cycle
  AND run_id IN (SELECT run_id FROM runs WHERE command = 'fit-cycle')
