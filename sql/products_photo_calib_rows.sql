-- products_photo_calib_rows: the photo_calib rows of tract $tract (NULL = the whole-database tract), one per
-- (visit, detector), with what the spatial Chebyshev field needs (filter, MJD for the flat epoch, calib_mean).
SELECT
    visit,
    detector,
    physical_filter,
    mjd,
    calib_mean
FROM photo_calib
WHERE tract IS NOT DISTINCT FROM $tract
ORDER BY visit, detector
