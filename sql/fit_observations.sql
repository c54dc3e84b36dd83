-- fit_observations: the star observations the fit uses, one row per (star, observation), from
-- star_obs joined to observations (instrumental magnitude per second, its error, delta-aperture)
-- and to stars, with the pixel position (x, y) on the detector. Ordered by star, visit, detector, source
-- so that every cycle sees the same order.
SELECT
    so.star_id,
    o.visit,
    o.detector,
    o.inst_mag,
    o.inst_mag_err,
    o.delta_mag_aper,
    o.delta_mag_aper_err,
    o.x,
    o.y
FROM star_obs AS so
JOIN observations AS o ON o.sourceId = so.sourceId
JOIN stars AS s ON s.star_id = so.star_id
ORDER BY so.star_id, o.visit, o.detector, o.sourceId
