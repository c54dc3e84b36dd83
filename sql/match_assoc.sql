-- match_assoc: every observation (all bands) assigned to the nearest isolated star within the match
-- radius (ties to the smaller star_id); observations with no star inside the radius are absent.
-- Candidate pairs: each star's matching-order pixel and its neighbours (every point within the
-- radius of the star lies in one of them) joined on equality with the observations' pixels.
-- From: match_obs, match_star_candidates, match_crowded_stars. Grain: one row per assigned observation.
CREATE OR REPLACE TEMP TABLE match_assoc AS
WITH isolated_stars AS (
    SELECT s.star_id, s.cx, s.cy, s.cz, s.mpix
    FROM match_star_candidates AS s
    LEFT JOIN match_crowded_stars AS c ON c.star_id = s.star_id
    WHERE c.star_id IS NULL
),
star_neighbourhood AS (
    SELECT star_id, cx, cy, cz, unnest(fgcm_healpix_neighbourhood($match_order, mpix)) AS pixel
    FROM isolated_stars
),
obs_star_pairs AS (
    SELECT
        o.sourceId, o.visit, o.detector, o.band, o.cx, o.cy, o.cz,
        s.star_id,
        (o.cx - s.cx) * (o.cx - s.cx) + (o.cy - s.cy) * (o.cy - s.cy) + (o.cz - s.cz) * (o.cz - s.cz)
            AS chord2
    FROM match_obs AS o
    JOIN star_neighbourhood AS s ON s.pixel = o.mpix
),
pairs_within_radius AS (
    SELECT
        sourceId, visit, detector, band, cx, cy, cz, star_id, chord2,
        row_number() OVER (PARTITION BY sourceId ORDER BY chord2, star_id) AS rank_by_distance
    FROM obs_star_pairs
    WHERE chord2 <= $match_chord2
)
SELECT
    sourceId,
    visit,
    detector,
    band,
    cx, cy, cz,
    star_id,
    degrees(2.0 * asin(sqrt(chord2) / 2.0)) * 3600.0 AS dist_arcsec
FROM pairs_within_radius
WHERE rank_by_distance = 1;
