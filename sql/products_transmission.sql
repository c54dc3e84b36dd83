-- products_transmission: inserts into transmission the curves of the registered frame
-- products_transmission_frame (visit, wavelength nm, transmission), one row per (visit, wavelength),
-- computed in fgcm_db/products.py from the atmosphere model at each visit's fitted parameters.
INSERT INTO transmission (run_id, tract, visit, wavelength, transmission)
SELECT
    $run_id AS run_id,
    $tract AS tract,
    f.visit,
    f.wavelength,
    f.transmission
FROM products_transmission_frame AS f
ORDER BY f.visit, f.wavelength
