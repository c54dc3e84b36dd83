-- stars_status: every isolated star that received observations, with the cuts it passes or fails:
-- `blended` (two observations in one visit: two sources merged into one star) and
-- `has_required_bands` (>= $min_obs observations in each of $required_bands, or in at least one
-- band when that list is empty). From: match_assoc, match_star_candidates.
-- Grain: one row per isolated star with at least one observation.
CREATE OR REPLACE TEMP TABLE stars_status AS
WITH band_counts AS (
    SELECT star_id, band, count(*) AS nobs
    FROM match_assoc
    GROUP BY star_id, band
),
band_checks AS (
    SELECT
        star_id,
        count(*) FILTER (WHERE list_contains(CAST($required_bands AS VARCHAR[]), band) AND nobs >= $min_obs)
            AS n_required_ok,
        max(nobs) AS max_band_nobs
    FROM band_counts
    GROUP BY star_id
),
star_totals AS (
    SELECT star_id, count(*) AS n_obs, count(DISTINCT visit) AS n_visits
    FROM match_assoc
    GROUP BY star_id
)
SELECT
    t.star_id,
    c.healpix,
    t.n_obs,
    t.n_visits,
    t.n_obs > t.n_visits AS blended,
    CASE WHEN len(CAST($required_bands AS VARCHAR[])) = 0 THEN b.max_band_nobs >= $min_obs
         ELSE b.n_required_ok = len(CAST($required_bands AS VARCHAR[])) END AS has_required_bands
FROM star_totals AS t
JOIN band_checks AS b ON b.star_id = t.star_id
JOIN match_star_candidates AS c ON c.star_id = t.star_id;
