-- tract_star_positions: position of every star (one row per star, ordered by star_id), from stars; used
-- to select the stars of a tract region.
SELECT
    star_id,
    ra,
    dec
FROM stars
ORDER BY star_id
