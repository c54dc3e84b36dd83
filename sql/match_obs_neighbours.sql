-- match_obs_neighbours: for every matching-order pixel holding an observation, that pixel and its
-- 8 (or 7) HEALPix neighbours. Any point within the match radius of an observation lies in one of
-- them, so equality joins on this table find every candidate pair of the seed graph without a
-- cross join.
-- From: match_obs. Grain: one row per (pixel, neighbour).
CREATE OR REPLACE TEMP TABLE match_obs_neighbours AS
WITH obs_pixels AS (
    SELECT DISTINCT mpix AS pixel
    FROM match_obs
)
SELECT pixel, unnest(fgcm_healpix_neighbourhood($match_order, pixel)) AS neighbour
FROM obs_pixels;
