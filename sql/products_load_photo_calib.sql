-- products_load_photo_calib: the photo_calib columns calibrate_flux needs, one row per (tract, visit,
-- detector), from photo_calib.
SELECT
    tract,
    visit,
    detector,
    calib_mean,
    cheb_coeffs,
    bbox_width,
    bbox_height,
    i10,
    i10_std,
    flag
FROM photo_calib
ORDER BY visit, detector
