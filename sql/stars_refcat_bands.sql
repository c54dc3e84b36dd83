-- stars_refcat_bands (result set): the bands of the reference catalog and their row counts.
-- From: refcat. Grain: one row per band.
SELECT band, count(*) AS n_ref
FROM refcat
GROUP BY band
ORDER BY band;
