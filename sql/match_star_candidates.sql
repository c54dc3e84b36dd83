-- match_star_candidates: every seed star with its position, its star_id (1..N in HEALPix order, ties
-- broken by the seed's smallest sourceId, so ids are reproducible), its order-14 HEALPix id and its
-- pixels at the star order (isolation and reference matching) and at the matching order.
-- From: match_seeds. Grain: one row per candidate star.
CREATE OR REPLACE TEMP TABLE match_star_candidates AS
WITH seed_positions AS (
    SELECT
        seed_source, seed_band, n_seed_obs, cx, cy, cz, mpix,
        CASE WHEN degrees(atan2(cy, cx)) < 0 THEN degrees(atan2(cy, cx)) + 360.0
             ELSE degrees(atan2(cy, cx)) END AS ra,
        degrees(atan2(cz, sqrt(cx * cx + cy * cy))) AS dec
    FROM match_seeds
),
seed_pixels AS (
    SELECT
        seed_source, seed_band, n_seed_obs, cx, cy, cz, mpix, ra, dec,
        fgcm_healpix_nest(14, ra, dec) AS healpix
    FROM seed_positions
)
SELECT
    row_number() OVER (ORDER BY healpix, seed_source) AS star_id,
    seed_source,
    seed_band,
    n_seed_obs,
    ra,
    dec,
    cx, cy, cz,
    healpix,
    healpix >> $star_shift AS spix,
    mpix
FROM seed_pixels;
