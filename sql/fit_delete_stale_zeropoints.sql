-- fit_delete_stale_zeropoints: removes the rows of zeropoints that earlier `fgcm-db fit-cycle` runs wrote for
-- cycles >= $cycle (re-running a cycle replaces it and invalidates the cycles after it).
DELETE FROM zeropoints
WHERE cycle >= $cycle
  AND run_id IN (SELECT run_id FROM runs WHERE command = 'fit-cycle')
