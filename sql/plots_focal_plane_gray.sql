-- plots_focal_plane_gray: per (band, detector) of run $run_id, final cycle $cycle: the mean over
-- photometric visits of the detector gray minus the visit gray (mmag: structure the model leaves), with
-- the detector geometry; one row per (band, detector), from ccd_gray, exp_gray and detectors.
SELECT
    e.band,
    c.detector,
    1000.0 * avg(c.ccd_gray - e.exp_gray) AS value_mmag,
    count(*) AS n_visits,
    any_value(d.fp_x) AS fp_x,
    any_value(d.fp_y) AS fp_y,
    any_value(d.x_size * coalesce(d.pixel_size_mm, 0.015)) AS width_mm,
    any_value(d.y_size * coalesce(d.pixel_size_mm, 0.015)) AS height_mm,
    any_value(d.rotation) AS rotation
FROM ccd_gray AS c
JOIN exp_gray AS e
    ON e.run_id = c.run_id AND e.cycle = c.cycle AND e.visit = c.visit
JOIN detectors AS d
    ON d.detector = c.detector
WHERE c.run_id = $run_id
  AND c.cycle = $cycle
  AND c.good
  AND e.photometric
  AND isfinite(c.ccd_gray)
  AND isfinite(e.exp_gray)
GROUP BY e.band, c.detector
ORDER BY e.band, c.detector
