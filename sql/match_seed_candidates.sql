-- match_seed_candidates: observations of one primary band ($band) that lie farther than the match
-- radius from every seed of earlier primary bands: the observations that may seed new stars.
-- Candidate pairs: each seed's matching-order pixel and its neighbours joined with the observations'
-- pixels. From: match_obs, match_seeds. Grain: one row per observation.
CREATE OR REPLACE TEMP TABLE match_seed_candidates AS
WITH band_obs AS (
    SELECT sourceId, cx, cy, cz, mpix
    FROM match_obs
    WHERE band = $band
),
seed_neighbourhood AS (
    SELECT cx, cy, cz, unnest(fgcm_healpix_neighbourhood($match_order, mpix)) AS pixel
    FROM match_seeds
),
obs_near_existing_seed AS (
    SELECT DISTINCT o.sourceId
    FROM band_obs AS o
    JOIN seed_neighbourhood AS s ON s.pixel = o.mpix
    WHERE (o.cx - s.cx) * (o.cx - s.cx) + (o.cy - s.cy) * (o.cy - s.cy) + (o.cz - s.cz) * (o.cz - s.cz)
          <= $match_chord2
)
SELECT o.sourceId, o.cx, o.cy, o.cz, o.mpix
FROM band_obs AS o
LEFT JOIN obs_near_existing_seed AS e ON e.sourceId = o.sourceId
WHERE e.sourceId IS NULL;
