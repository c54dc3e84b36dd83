-- build_stats: counts at each step of build-stars (band NULL for counts over all bands).
-- From: match_obs, match_seeds, match_star_candidates, match_crowded_stars, match_assoc,
-- stars_status, stars_final, star_obs, star_ref. Grain: one row per (step, band).
INSERT INTO build_stats (step_order, step, band, n, run_id)
WITH step_counts AS (
    SELECT 1 AS step_order, 'observations' AS step, band, count(*) AS n
    FROM match_obs GROUP BY band
    UNION ALL
    SELECT 2, 'seed_stars', seed_band, count(*)
    FROM match_seeds GROUP BY seed_band
    UNION ALL
    SELECT 3, 'candidate_stars', NULL, count(*)
    FROM match_star_candidates
    UNION ALL
    SELECT 4, 'isolation_removed', NULL, count(*)
    FROM match_crowded_stars
    UNION ALL
    SELECT 5, 'isolated_stars_with_observations', NULL, count(*)
    FROM stars_status
    UNION ALL
    SELECT 6, 'observations_associated', band, count(*)
    FROM match_assoc GROUP BY band
    UNION ALL
    SELECT 7, 'blend_removed', NULL, count(*)
    FROM stars_status WHERE blended
    UNION ALL
    SELECT 8, 'required_bands_removed', NULL, count(*)
    FROM stars_status WHERE NOT blended AND NOT has_required_bands
    UNION ALL
    SELECT 9, 'density_removed', NULL,
        (SELECT count(*) FROM stars_status WHERE NOT blended AND has_required_bands)
        - (SELECT count(*) FROM stars_final)
    UNION ALL
    SELECT 10, 'stars', NULL, count(*)
    FROM stars_final
    UNION ALL
    SELECT 11, 'reserved_stars', NULL, count(*)
    FROM stars_final WHERE reserved
    UNION ALL
    SELECT 12, 'star_obs', band, count(*)
    FROM star_obs GROUP BY band
    UNION ALL
    SELECT 13, 'reference_matched', band, count(*)
    FROM star_ref GROUP BY band
    UNION ALL
    SELECT 14, 'reference_stars', NULL, count(DISTINCT star_id)
    FROM star_ref
)
SELECT step_order, step, band, n, $run_id AS run_id
FROM step_counts
ORDER BY step_order, band;
