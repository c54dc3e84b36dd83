-- match_star_neighbours: for every star-order pixel holding a candidate star, that pixel and its
-- HEALPix neighbours (star-order pixels are >= 2.5 isolation and reference radii wide).
-- From: match_star_candidates. Grain: one row per (pixel, neighbour).
CREATE OR REPLACE TEMP TABLE match_star_neighbours AS
WITH star_pixels AS (
    SELECT DISTINCT spix AS pixel
    FROM match_star_candidates
)
SELECT pixel, unnest(fgcm_healpix_neighbourhood($star_order, pixel)) AS neighbour
FROM star_pixels;
