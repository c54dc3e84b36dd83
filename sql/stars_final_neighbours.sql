-- stars_final_neighbours: for every star-order pixel holding a calibration star, that pixel and its
-- HEALPix neighbours, for the reference-catalog match. From: stars_final.
-- Grain: one row per (pixel, neighbour).
CREATE OR REPLACE TEMP TABLE stars_final_neighbours AS
WITH star_pixels AS (
    SELECT DISTINCT spix AS pixel
    FROM stars_final
)
SELECT pixel, unnest(fgcm_healpix_neighbourhood($star_order, pixel)) AS neighbour
FROM star_pixels;
