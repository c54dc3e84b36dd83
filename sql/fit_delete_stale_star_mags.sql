-- fit_delete_stale_star_mags: removes the rows of star_mags that earlier `fgcm-db fit-cycle` runs wrote for
-- cycles >= $cycle (re-running a cycle replaces it and invalidates the cycles after it).
DELETE FROM star_mags
WHERE cycle >= $cycle
  AND run_id IN (SELECT run_id FROM runs WHERE command = 'fit-cycle')
