-- Queries users ask of an fgcm-db database. Run one with
--     fgcm-db sql "<the query>"            (add --format csv / json, or --format parquet --out FILE)
-- Each query below ends with a semicolon; replace the example ids (visit 1001, star 1) with yours.
-- Tables and units: `fgcm-db info`, and the column descriptions (query 1).
-- tests/test_query.py runs every query here against a small database, so they stay correct.

-- 1. What the columns of a table mean, with their units (from the database catalog).
SELECT column_name, data_type, comment
FROM duckdb_columns()
WHERE table_name = 'observations'
ORDER BY column_index;

-- 2. Visits per night and band, with their time span.
SELECT night, band, count(*) AS n_visits, min(mjd) AS first_mjd, max(mjd) AS last_mjd,
       sum(exptime) AS total_exptime_s
FROM visits
GROUP BY night, band
ORDER BY night, band;

-- 3. Observations (selected sources) per visit, next to what was ingested.
SELECT v.visit, v.band, v.mjd, v.airmass, s.n_in AS n_sources, count(o.sourceId) AS n_observations
FROM visits AS v
LEFT JOIN selection_summary AS s ON s.visit = v.visit
LEFT JOIN observations AS o ON o.visit = v.visit
GROUP BY v.visit, v.band, v.mjd, v.airmass, s.n_in
ORDER BY v.visit;

-- 4. Why sources were rejected: the selection over all visits, per reason (a source rejected for
--    several reasons counts in each of them).
SELECT sum(n_in) AS n_in,
       sum(n_flagged) AS flagged,
       sum(n_extended) AS extended,
       sum(n_low_sn) AS low_sn,
       sum(n_high_sn) AS high_sn,
       sum(n_blended) AS blended,
       sum(n_sky) AS sky,
       sum(n_bad_coord) AS bad_coord,
       sum(n_bad_background) AS bad_background,
       sum(n_kept) AS kept,
       round(100.0 * sum(n_kept) / sum(n_in), 1) AS kept_percent
FROM selection_summary;

-- 5. The visits that lost the largest fraction of their sources to the selection.
SELECT visit, n_in, n_kept, round(100.0 * n_kept / n_in, 1) AS kept_percent,
       n_flagged, n_extended, n_low_sn, n_high_sn, n_blended
FROM selection_summary
WHERE n_in > 0
ORDER BY 1.0 * n_kept / n_in, visit
LIMIT 10;

-- 6. Observations per star and band (the best-observed stars first).
SELECT star_id, band, count(*) AS n_obs
FROM star_obs
GROUP BY star_id, band
ORDER BY n_obs DESC, star_id, band
LIMIT 20;

-- 7. How many stars have how many observations (the depth of the survey, per band).
WITH per_star AS (
    SELECT star_id, band, count(*) AS n_obs
    FROM star_obs
    GROUP BY star_id, band
)
SELECT band, n_obs, count(*) AS n_stars
FROM per_star
GROUP BY band, n_obs
ORDER BY band, n_obs;

-- 8. A star's light curve: its calibrated magnitude at every visit (AB mag = zp_mag - 2.5
--    log10(counts)), and its offset from the star's standard magnitude in that band.
SELECT v.mjd, o.visit, o.detector, o.band,
       p.zp_mag - 2.5 * log10(o.inst_flux) AS mag,
       2.5 / ln(10) * o.inst_flux_err / o.inst_flux AS mag_err,
       p.zp_mag - 2.5 * log10(o.inst_flux)
           - CASE o.band WHEN 'g' THEN s.mag_g WHEN 'r' THEN s.mag_r END AS mag_minus_std,
       p.photometric
FROM star_obs AS so
JOIN observations AS o ON o.sourceId = so.sourceId
JOIN visits AS v ON v.visit = o.visit
JOIN photo_calib AS p ON p.visit = o.visit AND p.detector = o.detector
LEFT JOIN std_stars AS s ON s.star_id = so.star_id
WHERE so.star_id = 1
ORDER BY v.mjd;

-- 9. The zero-points of one visit, detector by detector.
SELECT detector, band, zp_mag, calib_mean, calib_err, gray_mag, photometric, flag
FROM photo_calib
WHERE visit = 1001
ORDER BY detector;

-- 10. The worst-calibrated detectors: most flagged zero-points, then largest mean zero-point error
--     (mmag) and gray scatter across visits (mmag).
SELECT detector,
       count(*) AS n_visits,
       sum(CASE WHEN flag <> 0 OR zp_mag IS NULL THEN 1 ELSE 0 END) AS n_flagged,
       round(1000 * avg(2.5 / ln(10) * calib_err / calib_mean), 2) AS mean_zp_err_mmag,
       round(1000 * stddev_samp(gray_mag), 2) AS gray_rms_mmag
FROM photo_calib
GROUP BY detector
ORDER BY n_flagged DESC, mean_zp_err_mmag DESC, detector
LIMIT 10;

-- 11. The calibrated catalog: bright stars with their standard magnitudes and colour.
SELECT star_id, ra, dec, mag_g, magerr_g, mag_r, magerr_r, mag_g - mag_r AS g_minus_r, nobs_g, nobs_r
FROM std_stars
WHERE flag = 0 AND mag_g < 22
ORDER BY mag_g
LIMIT 20;

-- 12. Stars within 30 arcsec of a position (ra 150.0, dec 2.2 degrees), nearest first.
WITH target AS (SELECT 150.0 AS ra0, 2.2 AS dec0)
SELECT star_id, ra, dec,
       3600 * degrees(2 * asin(sqrt(
           power(sin(radians(dec - dec0) / 2), 2)
           + cos(radians(dec)) * cos(radians(dec0)) * power(sin(radians(ra - ra0) / 2), 2)))) AS sep_arcsec
FROM stars, target
WHERE dec BETWEEN dec0 - 30.0 / 3600 AND dec0 + 30.0 / 3600
ORDER BY sep_arcsec
LIMIT 20;

-- 13. Convergence of the last calibrate-tract: repeatability of the reserved stars per cycle.
SELECT cycle, band, n_visits_photometric, n_stars, chi2_per_dof, repeatability_mmag, converged
FROM cycle_summary
WHERE run_id = (SELECT max(run_id) FROM cycle_summary)
ORDER BY cycle, band;

-- 14. The fitted atmosphere through the survey: water vapour, aerosols and clouds per visit.
SELECT visit, band, mjd, airmass, pmb, pwv, o3, tau, alpha, gray_mag
FROM visit_atmosphere
ORDER BY mjd;

-- 15. Photometric fraction per night and band (visits whose zero-points passed the selection).
SELECT v.night, p.band, count(DISTINCT p.visit) AS n_visits,
       count(DISTINCT CASE WHEN p.photometric THEN p.visit END) AS n_photometric
FROM photo_calib AS p
JOIN visits AS v ON v.visit = p.visit
GROUP BY v.night, p.band
ORDER BY v.night, p.band;

-- 16. What ran on this database, newest first, with the errors of failed runs.
SELECT run_id, command, status, started, finished, error
FROM runs
ORDER BY run_id DESC
LIMIT 10;
