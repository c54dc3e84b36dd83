-- star_nobs: observations per (calibration star, band). From: match_assoc, stars_final.
-- Grain: one row per (star, band) with at least one observation.
INSERT INTO star_nobs (star_id, band, nobs, run_id)
SELECT a.star_id, a.band, count(*) AS nobs, $run_id AS run_id
FROM match_assoc AS a
JOIN stars_final AS f ON f.star_id = a.star_id
GROUP BY a.star_id, a.band
ORDER BY a.star_id, a.band;
