-- match_crowded_stars: candidate stars with another candidate star within the isolation radius
-- (squared chord <= $isolation_chord2); all of them are removed, both members of every pair.
-- From: match_star_candidates, match_star_neighbours. Grain: one row per crowded star.
CREATE OR REPLACE TEMP TABLE match_crowded_stars AS
WITH close_pairs AS (
    SELECT
        a.star_id,
        (a.cx - b.cx) * (a.cx - b.cx) + (a.cy - b.cy) * (a.cy - b.cy) + (a.cz - b.cz) * (a.cz - b.cz)
            AS chord2
    FROM match_star_candidates AS a
    JOIN match_star_neighbours AS n ON n.pixel = a.spix
    JOIN match_star_candidates AS b ON b.spix = n.neighbour AND b.star_id <> a.star_id
)
SELECT DISTINCT star_id
FROM close_pairs
WHERE chord2 <= $isolation_chord2;
