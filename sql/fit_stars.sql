-- fit_stars: the calibration stars, one row per star, from stars (position, reserved flag).
SELECT
    star_id,
    ra,
    dec,
    reserved
FROM stars
ORDER BY star_id
