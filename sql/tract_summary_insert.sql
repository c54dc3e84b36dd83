-- tract_summary_insert: inserts into tract_summary one row per band of run $run_id from the registered
-- frame tract_summary_frame (band, repeatability_mmag, n_visits) and the standard stars counted in
-- star_mags / star_flags of the final cycle $final_cycle (stars without the star flag bits 1 too few
-- observations and 2 bad colour, as in std_stars).
INSERT INTO tract_summary (
    run_id, tract, band, n_fit_cycles, final_cycle, converged, repeatability_mmag, n_visits, n_stars, wall_time_s
)
WITH standard AS (
    SELECT
        m.band,
        count(*) AS n_stars
    FROM star_mags AS m
    JOIN star_flags AS f
        ON f.run_id = m.run_id AND f.cycle = m.cycle AND f.star_id = m.star_id
    WHERE m.run_id = $run_id
      AND m.cycle = $final_cycle
      AND m.n_good > 0
      AND (f.flag & 3) = 0
    GROUP BY m.band
)
SELECT
    $run_id AS run_id,
    $tract AS tract,
    t.band,
    $n_fit_cycles AS n_fit_cycles,
    $final_cycle AS final_cycle,
    $converged AS converged,
    t.repeatability_mmag,
    t.n_visits,
    coalesce(s.n_stars, 0) AS n_stars,
    $wall_time_s AS wall_time_s
FROM tract_summary_frame AS t
LEFT JOIN standard AS s
    ON s.band = t.band
ORDER BY t.band
