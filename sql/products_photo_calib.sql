-- products_photo_calib: inserts into photo_calib one row per (visit, detector) that has a zero-point in
-- cycle $cycle of run $run_id, from zeropoints (zp, zp_err, gray, i10, flags), exp_gray (the visit's
-- exposure flag), ccd_gray (own detector gray or recovered), detectors (bounding box), lut_std (I10 of the
-- band's standard passband) and the registered frame products_offsets (band, offset_mag).
-- calib_mean = 10^(-0.4 (zp_mag - $njy_ab_zp)) nJy per count; calib_err = 0.4 ln(10) calib_mean zp_err.
-- Flag bits are the $bit_* parameters (fgcm_db/products.py); zero-points flagged $zp_absent_bits are absent.
INSERT INTO photo_calib (
    run_id, tract, visit, detector, band, physical_filter, mjd, calib_mean, calib_err, zp_mag, zp_err,
    gray_mag, photometric, flag, cheb_coeffs, bbox_width, bbox_height, i10, i10_std, abs_offset
)
WITH calibrated AS (
    SELECT
        z.visit,
        z.detector,
        z.band,
        z.physical_filter,
        z.mjd,
        z.zp + coalesce(o.offset_mag, 0.0) AS zp_mag,
        z.zp_err,
        z.gray,
        z.photometric,
        z.flag AS zp_flag,
        z.i10,
        e.exp_flag,
        coalesce(c.good, FALSE) AS own_gray,
        coalesce(o.offset_mag, 0.0) AS abs_offset
    FROM zeropoints AS z
    JOIN exp_gray AS e
        ON e.run_id = z.run_id AND e.cycle = z.cycle AND e.visit = z.visit
    LEFT JOIN ccd_gray AS c
        ON c.run_id = z.run_id AND c.cycle = z.cycle AND c.visit = z.visit AND c.detector = z.detector
    LEFT JOIN products_offsets AS o
        ON o.band = z.band
    WHERE z.run_id = $run_id
      AND z.cycle = $cycle
      AND (z.flag & $zp_absent_bits) = 0
      AND isfinite(z.zp)
      AND isfinite(z.zp_err)
),
standard_i10 AS (
    SELECT
        ls.physical_filter,
        lss.i10_std
    FROM lut_std AS ls
    JOIN lut_std AS lss
        ON lss.physical_filter = ls.std_physical_filter
)
SELECT
    $run_id AS run_id,
    $tract AS tract,
    k.visit,
    k.detector,
    k.band,
    k.physical_filter,
    k.mjd,
    pow(10.0, -0.4 * (k.zp_mag - $njy_ab_zp)) AS calib_mean,
    0.4 * ln(10.0) * pow(10.0, -0.4 * (k.zp_mag - $njy_ab_zp)) * k.zp_err AS calib_err,
    k.zp_mag,
    k.zp_err,
    k.gray AS gray_mag,
    k.photometric,
    (CASE WHEN (k.exp_flag & $exp_nonphotometric_bits) <> 0 THEN $bit_nonphotometric ELSE 0 END)
    | (CASE WHEN (k.zp_flag & $zp_nofit_night_bit) <> 0 THEN $bit_no_atmosphere_fit ELSE 0 END)
    | (CASE WHEN NOT k.own_gray THEN $bit_recovered_gray ELSE 0 END)
    | (CASE WHEN (k.zp_flag & $zp_notfit_band_bit) <> 0 THEN $bit_not_fit_band ELSE 0 END)
    | (CASE WHEN k.gray < -$thick_cloud_mag THEN $bit_thick_cloud ELSE 0 END) AS flag,
    CAST(NULL AS DOUBLE[]) AS cheb_coeffs,
    d.x_size AS bbox_width,
    d.y_size AS bbox_height,
    k.i10,
    s.i10_std,
    k.abs_offset
FROM calibrated AS k
JOIN detectors AS d
    ON d.detector = k.detector
LEFT JOIN standard_i10 AS s
    ON s.physical_filter = k.physical_filter
ORDER BY k.visit, k.detector
