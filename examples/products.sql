-- Queries over the products of `fgcm-db calibrate-tract`. Run one with
--     fgcm-db sql "<the query>"        (add --format csv / json, or --format parquet --out FILE)
-- Each query ends with a semicolon. Replace the example ids (visit 1008, the brightest star) with yours.
-- Units: mag, nJy, nm, hPa, mm (PWV), Dobson (O3). Every column's meaning and unit:
--     SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'photo_calib'
-- tests/test_tract.py runs every query here against a calibrated simulated tract.

-- 1. How the calibration went: cycles, convergence and final repeatability per band.
SELECT tract, band, n_fit_cycles, final_cycle, converged, round(repeatability_mmag, 2) AS repeatability_mmag,
       n_visits, n_stars, round(wall_time_s, 1) AS wall_time_s
FROM tract_summary
ORDER BY run_id, band;

-- 2. The convergence history of the latest run.
SELECT cycle, band, round(repeatability_mmag, 2) AS repeatability_mmag, round(chi2_per_dof, 3) AS chi2_per_dof,
       n_visits_photometric, optimizer_status, converged
FROM cycle_summary
WHERE run_id = (SELECT max(run_id) FROM tract_summary)
ORDER BY cycle, band;

-- 3. The zero-points of one visit, detector by detector, with what they contain.
SELECT detector, round(zp_mag, 4) AS zp_mag, round(zp_err * 1000, 2) AS zp_err_mmag,
       round(gray_mag * 1000, 1) AS gray_mmag, calib_mean, flag
FROM photo_calib
WHERE visit = 1008
ORDER BY detector;

-- 4. A star's calibrated light curve across visits: its observations calibrated with photo_calib
--    (AB mag = zp_mag - 2.5 log10(instFlux), flat SED), next to its standard magnitude.
SELECT v.mjd, pc.band, pc.visit, pc.detector,
       round(pc.zp_mag - 2.5 * log10(o.inst_flux), 4) AS mag,
       round(o.inst_mag_err, 4) AS mag_err,
       pc.photometric,
       round(CASE pc.band WHEN 'g' THEN s.mag_g WHEN 'r' THEN s.mag_r WHEN 'i' THEN s.mag_i END, 4) AS std_mag
FROM star_obs AS so
JOIN observations AS o ON o.sourceId = so.sourceId AND o.visit = so.visit
JOIN photo_calib AS pc ON pc.visit = o.visit AND pc.detector = o.detector AND pc.tract IS NULL
JOIN visits AS v ON v.visit = o.visit
JOIN std_stars AS s ON s.star_id = so.star_id AND s.tract IS NULL
WHERE so.star_id = (SELECT star_id FROM std_stars WHERE tract IS NULL AND mag_r IS NOT NULL ORDER BY mag_r LIMIT 1)
ORDER BY v.mjd;

-- 5. Standard stars with magnitudes in g, r and i, brightest first, with their colours.
SELECT star_id, round(ra, 6) AS ra, round(dec, 6) AS dec, round(mag_g, 4) AS mag_g, round(mag_r, 4) AS mag_r,
       round(mag_i, 4) AS mag_i, round(mag_g - mag_i, 3) AS g_minus_i, nobs_g, nobs_r, nobs_i, reserved
FROM std_stars
WHERE mag_g IS NOT NULL AND mag_r IS NOT NULL AND mag_i IS NOT NULL
ORDER BY mag_r
LIMIT 20;

-- 6. Visits that are not photometric or not calibrated, and why (photo_calib / visit_atmosphere flag
--    bits: 1 non-photometric, 2 no atmosphere fit on the night, 8 not a fit band, 16 thick cloud,
--    64 no stars, 128 no detector calibrated, 256 band not in the look-up table).
SELECT visit, band, night, round(gray_mag * 1000, 1) AS gray_mmag, exp_flag, flag, n_detectors_calibrated,
       concat_ws(', ',
           CASE WHEN flag & 1 <> 0 THEN 'non-photometric' END,
           CASE WHEN flag & 2 <> 0 THEN 'no atmosphere fit' END,
           CASE WHEN flag & 16 <> 0 THEN 'thick cloud' END,
           CASE WHEN flag & 64 <> 0 THEN 'no stars' END,
           CASE WHEN flag & 128 <> 0 THEN 'not calibrated' END) AS why
FROM visit_atmosphere
WHERE NOT photometric OR n_detectors_calibrated = 0
ORDER BY visit;

-- 7. The fitted atmosphere night by night: mean PWV, aerosol depth and cloud, photometric visits.
SELECT night, count(*) AS n_visits, sum(CASE WHEN photometric THEN 1 ELSE 0 END) AS n_photometric,
       round(avg(pwv), 2) AS pwv_mm, round(avg(tau), 4) AS tau, round(avg(o3), 1) AS o3_du,
       round(min(gray_mag) * 1000, 1) AS worst_gray_mmag
FROM visit_atmosphere
GROUP BY night
ORDER BY night;

-- 8. The atmosphere transmission of one visit at a few wavelengths.
SELECT wavelength, round(transmission, 4) AS transmission
FROM transmission
WHERE visit = 1008 AND wavelength IN (350, 400, 500, 600, 700, 760, 800, 900, 940, 1000)
ORDER BY wavelength;

-- 9. The focal-plane pattern of the zero-points: per band and detector, the mean zero-point relative
--    to the visit median on photometric visits, in mmag.
SELECT band, detector, round(1000 * avg(zp_mag - visit_median), 2) AS zp_relative_mmag, count(*) AS n_visits
FROM (SELECT band, detector, zp_mag, median(zp_mag) OVER (PARTITION BY tract, visit) AS visit_median
      FROM photo_calib
      WHERE photometric)
GROUP BY band, detector
ORDER BY band, detector;

-- 10. The absolute level of each band: reference catalog offset and its scatter, or the model.
SELECT tract, band, source, round(offset_mag * 1000, 2) AS offset_mmag, round(offset_err * 1000, 2) AS err_mmag,
       round(scatter * 1000, 1) AS scatter_mmag, n_stars
FROM absolute_calibration
ORDER BY run_id, band;
