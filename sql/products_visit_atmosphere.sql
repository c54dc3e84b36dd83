-- products_visit_atmosphere: inserts into visit_atmosphere one row per visit of cycle $cycle of run $run_id,
-- from exp_gray (fitted atmosphere, visit gray, exposure flag), visits (boresight airmass when the fit has
-- none) and the photo_calib rows this run wrote (detectors calibrated, the band's fit status).
-- The visit flag combines the photo_calib bits that describe a whole visit with the visit-only bits
-- ($bit_no_stars, $bit_not_calibrated, $bit_band_not_in_lut); see fgcm_db/products.py.
INSERT INTO visit_atmosphere (
    run_id, tract, visit, band, physical_filter, night, mjd, airmass, pmb, pwv, o3, tau, alpha, gray_mag,
    gray_err, photometric, exp_flag, flag, n_detectors_calibrated
)
WITH calibrated AS (
    SELECT
        visit,
        count(*) AS n_detectors,
        bit_or(flag) AS any_flag
    FROM photo_calib
    WHERE run_id = $run_id
    GROUP BY visit
)
SELECT
    $run_id AS run_id,
    $tract AS tract,
    e.visit,
    e.band,
    e.physical_filter,
    e.night,
    e.mjd,
    coalesce(e.secz, v.airmass) AS airmass,
    e.pmb,
    e.pwv,
    e.o3,
    e.tau,
    e.alpha,
    e.exp_gray AS gray_mag,
    e.exp_gray_err AS gray_err,
    e.photometric,
    e.exp_flag,
    (CASE WHEN (e.exp_flag & $exp_nonphotometric_bits) <> 0 THEN $bit_nonphotometric ELSE 0 END)
    | (CASE WHEN (e.exp_flag & $exp_too_few_exp_bit) <> 0 THEN $bit_no_atmosphere_fit ELSE 0 END)
    | (coalesce(c.any_flag, 0) & $bit_not_fit_band)
    | (CASE WHEN e.exp_gray < -$thick_cloud_mag THEN $bit_thick_cloud ELSE 0 END)
    | (CASE WHEN (e.exp_flag & $exp_no_stars_bit) <> 0 THEN $bit_no_stars ELSE 0 END)
    | (CASE WHEN c.visit IS NULL THEN $bit_not_calibrated ELSE 0 END)
    | (CASE WHEN (e.exp_flag & $exp_band_not_in_lut_bit) <> 0 THEN $bit_band_not_in_lut ELSE 0 END) AS flag,
    coalesce(c.n_detectors, 0) AS n_detectors_calibrated
FROM exp_gray AS e
LEFT JOIN visits AS v
    ON v.visit = e.visit
LEFT JOIN calibrated AS c
    ON c.visit = e.visit
WHERE e.run_id = $run_id
  AND e.cycle = $cycle
ORDER BY e.visit
