-- stars_kept: the stars that pass every cut: not blended, with the required bands, and within the
-- density cap: in each HEALPix pixel of order 14 - $density_shift / 2, at most $density_max stars,
-- chosen by a seeded stable hash of star_id (reproducible on any machine).
-- From: stars_status. Grain: one row per kept star.
CREATE OR REPLACE TEMP TABLE stars_kept AS
WITH eligible_stars AS (
    SELECT star_id, healpix
    FROM stars_status
    WHERE NOT blended AND has_required_bands
),
ranked_in_density_pixel AS (
    SELECT
        star_id,
        row_number() OVER (
            PARTITION BY healpix >> $density_shift
            ORDER BY fgcm_hash_unit(star_id, $density_seed), star_id
        ) AS density_rank
    FROM eligible_stars
)
SELECT star_id
FROM ranked_in_density_pixel
WHERE density_rank <= $density_max;
