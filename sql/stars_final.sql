-- stars_final: the kept stars at the mean unit vector of all their observations (all bands; summed
-- as exact fixed-point integers, unit vector * 2^50, so the result does not depend on thread order),
-- with their HEALPix ids and the reserved flag (stable hash of star_id below $reserve_fraction;
-- flag bit $reserved_flag).
-- From: stars_kept, match_assoc. Grain: one row per calibration star.
CREATE OR REPLACE TEMP TABLE stars_final AS
WITH kept_obs AS (
    SELECT a.star_id, a.cx, a.cy, a.cz
    FROM match_assoc AS a
    JOIN stars_kept AS k ON k.star_id = a.star_id
),
star_sums AS (
    SELECT
        star_id,
        count(*) AS n_obs,
        CAST(sum(CAST(round(cx * 1125899906842624.0) AS BIGINT)) AS DOUBLE) AS sx,
        CAST(sum(CAST(round(cy * 1125899906842624.0) AS BIGINT)) AS DOUBLE) AS sy,
        CAST(sum(CAST(round(cz * 1125899906842624.0) AS BIGINT)) AS DOUBLE) AS sz
    FROM kept_obs
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
reserve_draws AS (
    SELECT
        star_id, n_obs, cx, cy, cz, ra, dec,
        fgcm_healpix_nest(14, ra, dec) AS healpix,
        fgcm_hash_unit(star_id, $reserve_seed) < $reserve_fraction AS reserved
    FROM star_positions
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
FROM reserve_draws;
