-- products_absolute_calibration: inserts into absolute_calibration one row per band from the registered
-- frame products_offsets (band, source, offset_mag, offset_err, scatter, n_stars) computed in
-- fgcm_db/products.py.
INSERT INTO absolute_calibration (run_id, tract, band, source, offset_mag, offset_err, scatter, n_stars)
SELECT
    $run_id AS run_id,
    $tract AS tract,
    o.band,
    o.source,
    o.offset_mag,
    o.offset_err,
    o.scatter,
    o.n_stars
FROM products_offsets AS o
ORDER BY o.band
