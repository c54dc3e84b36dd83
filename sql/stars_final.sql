-- stars_final: the calibration stars: stars that are not blends and have the required bands, at the
-- mean unit vector of all their observations (all bands; summed as exact fixed-point integers,
-- unit vector * 2^50, so the result does not depend on thread order), then the density cap: in
-- each HEALPix pixel of order 14 - $density_shift / 2 (of that position) at most $density_max
-- stars, those with the lowest seeded stable hash of star_id; then the reserved flag (stable hash
-- of star_id below $reserve_fraction; flag bit $reserved_flag).
-- From: stars_status, match_assoc. Grain: one row per calibration star.
CREATE OR REPLACE TEMP TABLE stars_final AS
WITH eligible_stars AS (
    SELECT star_id
    FROM stars_status
    WHERE NOT blended AND has_required_bands
),
eligible_obs AS (
    SELECT a.star_id, a.cx, a.cy, a.cz
    FROM match_assoc AS a
    JOIN eligible_stars AS e ON e.star_id = a.star_id
),
star_sums AS (
    SELECT
        star_id,
        count(*) AS n_obs,
        CAST(sum(CAST(round(cx * 1125899906842624.0) AS BIGINT)) AS DOUBLE) AS sx,
        CAST(sum(CAST(round(cy * 1125899906842624.0) AS BIGINT)) AS DOUBLE) AS sy,
        CAST(sum(CAST(round(cz * 1125899906842624.0) AS BIGINT)) AS DOUBLE) AS sz
    FROM eligible_obs
    GROUP BY star_id
),
star_positions AS (
    SELECT
        star_id, n_obs,
        sx / sqrt(sx * sx + sy * sy + sz * sz) AS cx,
        sy / sqrt(sx * sx + sy * sy + sz * sz) AS cy,
        sz / sqrt(sx * sx + sy * sy + sz * sz) AS cz,
        CASE WHEN degrees(atan2(sy, sx)) < 0 THEN degrees(atan2(sy, sx)) + 360.0
             ELSE degrees(atan2(sy, sx)) END AS ra,
        degrees(atan2(sz, sqrt(sx * sx + sy * sy))) AS dec
    FROM star_sums
),
star_pixels AS (
    SELECT star_id, n_obs, cx, cy, cz, ra, dec, fgcm_healpix_nest(14, ra, dec) AS healpix
    FROM star_positions
),
ranked_in_density_pixel AS (
    SELECT
        star_id, n_obs, cx, cy, cz, ra, dec, healpix,
        row_number() OVER (
            PARTITION BY healpix >> $density_shift
            ORDER BY fgcm_hash_unit(star_id, $density_seed), star_id
        ) AS density_rank
    FROM star_pixels
),
kept_stars AS (
    SELECT
        star_id, n_obs, cx, cy, cz, ra, dec, healpix,
        fgcm_hash_unit(star_id, $reserve_seed) < $reserve_fraction AS reserved
    FROM ranked_in_density_pixel
    WHERE density_rank <= $density_max
)
SELECT
    star_id,
    ra,
    dec,
    cx, cy, cz,
    healpix,
    healpix >> $star_shift AS spix,
    n_obs,
    reserved,
    CASE WHEN reserved THEN $reserved_flag ELSE 0 END AS flag
FROM kept_stars;
