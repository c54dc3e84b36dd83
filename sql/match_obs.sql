-- match_obs: the working set of build-stars: every selected observation with its unit vector and
-- its HEALPix nest pixel at the matching order ($match_order, pixels >= 2.5 match radii wide).
-- From: observations. Grain: one row per observation (sourceId is unique).
CREATE OR REPLACE TEMP TABLE match_obs AS
WITH selected_obs AS (
    SELECT sourceId, visit, detector, band, ra, dec, radians(ra) AS ra_rad, radians(dec) AS dec_rad
    FROM observations
)
SELECT
    sourceId,
    visit,
    detector,
    band,
    cos(dec_rad) * cos(ra_rad) AS cx,
    cos(dec_rad) * sin(ra_rad) AS cy,
    sin(dec_rad) AS cz,
    fgcm_healpix_nest($match_order, ra, dec) AS mpix
FROM selected_obs;
