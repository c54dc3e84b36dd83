-- products_photo_calib_cheb: sets photo_calib.cheb_coeffs of tract $tract (NULL = the whole-database tract) per
-- (visit, detector) from the registered frame products_cheb_frame (visit, detector, cheb_coeffs) that
-- fgcm_db/products.py computes from the sub-detector superstar (nJy per count Chebyshev coefficients).
UPDATE photo_calib
SET cheb_coeffs = f.cheb_coeffs
FROM products_cheb_frame AS f
WHERE photo_calib.tract IS NOT DISTINCT FROM $tract
  AND photo_calib.visit = f.visit
  AND photo_calib.detector = f.detector
