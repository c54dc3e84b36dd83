-- plots_focal_plane: per (band, detector) of run $run_id: the mean over photometric visits of the
-- zero-point relative to its visit median (mmag), with the detector geometry; one row per
-- (band, detector), from photo_calib and detectors.
WITH relative AS (
    SELECT
        band,
        detector,
        zp_mag - median(zp_mag) OVER (PARTITION BY visit) AS zp_rel
    FROM photo_calib
    WHERE run_id = $run_id
      AND photometric
)
SELECT
    r.band,
    r.detector,
    1000.0 * avg(r.zp_rel) AS value_mmag,
    count(*) AS n_visits,
    any_value(d.fp_x) AS fp_x,
    any_value(d.fp_y) AS fp_y,
    any_value(d.x_size * coalesce(d.pixel_size_mm, 0.015)) AS width_mm,
    any_value(d.y_size * coalesce(d.pixel_size_mm, 0.015)) AS height_mm,
    any_value(d.rotation) AS rotation
FROM relative AS r
JOIN detectors AS d
    ON d.detector = r.detector
GROUP BY r.band, r.detector
ORDER BY r.band, r.detector
