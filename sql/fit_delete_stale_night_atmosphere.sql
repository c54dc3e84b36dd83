-- fit_delete_stale_night_atmosphere: removes the rows of night_atmosphere that earlier `fgcm-db fit-cycle` runs wrote for
-- cycles >= $cycle (re-running a cycle replaces it and invalidates the cycles after it).
DELETE FROM night_atmosphere
WHERE cycle >= $cycle
  AND run_id IN (SELECT run_id FROM runs WHERE command = 'fit-cycle')
