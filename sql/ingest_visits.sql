-- ingest_visits: appends to `visits` one row per visit of `visit_rows` (per-visit time, boresight,
-- night, hour angle, airmass from fgcm_db.visit_summary.visit_rows), with medians over the visit's
-- detectors in `vs_rows` (finite positive psfSigma and skyBg only) and the median delta-aperture of
-- its selected observations (fgcmcal's deltaAper, table path: finite values only).
INSERT INTO visits (
    visit, band, physical_filter, mjd, exptime, night, hour_angle, boresight_ra, boresight_dec,
    boresight_rot, zenith_distance, airmass, pressure, psf_sigma, sky_bg, delta_aper, n_detectors,
    source_file, run_id
)
WITH detector_medians AS (
    SELECT
        visit,
        median(psfSigma) FILTER (WHERE isfinite(psfSigma) AND psfSigma > 0) AS psf_sigma,
        median(skyBg) FILTER (WHERE isfinite(skyBg) AND skyBg > 0) AS sky_bg,
        count(*) AS n_detectors
    FROM vs_rows
    GROUP BY visit
),
aperture_medians AS (
    SELECT o.visit, median(o.delta_mag_aper) AS delta_aper
    FROM observations AS o
    JOIN visit_rows AS v ON o.visit = v.visit
    WHERE isfinite(o.delta_mag_aper)
    GROUP BY o.visit
)
SELECT
    v.visit, v.band, v.physical_filter, v.mjd, v.exptime, v.night, v.hour_angle, v.boresight_ra,
    v.boresight_dec, v.boresight_rot, v.zenith_distance, v.airmass,
    CASE WHEN isfinite(v.pressure) THEN v.pressure END AS pressure,
    d.psf_sigma, d.sky_bg, a.delta_aper, d.n_detectors, $source_file AS source_file, $run_id AS run_id
FROM visit_rows AS v
JOIN detector_medians AS d ON v.visit = d.visit
LEFT JOIN aperture_medians AS a ON v.visit = a.visit
