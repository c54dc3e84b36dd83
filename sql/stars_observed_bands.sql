-- stars_observed_bands (result set): the bands of the selected observations and their counts.
-- From: observations. Grain: one row per band.
SELECT band, count(*) AS n_obs
FROM observations
GROUP BY band
ORDER BY band;
