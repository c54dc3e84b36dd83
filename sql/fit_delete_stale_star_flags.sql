-- fit_delete_stale_star_flags: removes the rows of star_flags that earlier `fgcm-db fit-cycle` runs wrote for
-- cycles >= $cycle (re-running a cycle replaces it and invalidates the cycles after it).
DELETE FROM star_flags
WHERE cycle >= $cycle
  AND run_id IN (SELECT run_id FROM runs WHERE command = 'fit-cycle')
