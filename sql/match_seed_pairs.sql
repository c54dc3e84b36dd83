-- match_seed_pairs (result set): the edges of the seed graph: pairs of seed-candidate observations
-- within the match radius (exact: squared chord of unit vectors <= $match_chord2), each pair once.
-- From: match_seed_candidates, match_obs_neighbours. Grain: one row per pair (source_a < source_b).
WITH candidate_pairs AS (
    SELECT
        a.sourceId AS source_a,
        b.sourceId AS source_b,
        (a.cx - b.cx) * (a.cx - b.cx) + (a.cy - b.cy) * (a.cy - b.cy) + (a.cz - b.cz) * (a.cz - b.cz)
            AS chord2
    FROM match_seed_candidates AS a
    JOIN match_obs_neighbours AS n ON n.pixel = a.mpix
    JOIN match_seed_candidates AS b ON b.mpix = n.neighbour AND a.sourceId < b.sourceId
)
SELECT source_a, source_b
FROM candidate_pairs
WHERE chord2 <= $match_chord2;
