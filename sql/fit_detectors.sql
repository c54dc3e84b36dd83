-- fit_detectors: camera geometry for detector-centre airmasses, one row per detector, from detectors.
SELECT
    detector,
    fp_x,
    fp_y,
    pixel_scale
FROM detectors
ORDER BY detector
