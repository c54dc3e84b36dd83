-- fit_visits: the visits the fit models, one row per visit, from visits.
SELECT
    visit,
    band,
    physical_filter,
    mjd,
    exptime,
    night,
    hour_angle,
    boresight_ra,
    boresight_dec,
    boresight_rot,
    pressure
FROM visits
ORDER BY visit
