-- star_obs: each observation of a calibration star, grouped by star (rows in star_id, visit,
-- detector order). From: match_assoc, stars_final. Grain: one row per assigned observation.
INSERT INTO star_obs (star_id, visit, detector, sourceId, band, dist_arcsec, run_id)
SELECT a.star_id, a.visit, a.detector, a.sourceId, a.band, a.dist_arcsec, $run_id AS run_id
FROM match_assoc AS a
JOIN stars_final AS f ON f.star_id = a.star_id
ORDER BY a.star_id, a.visit, a.detector, a.sourceId;
