-- fit_detectors: camera geometry for detector-centre airmasses and star positions on the focal plane,
-- one row per detector, from detectors (pixel size NULL = the HSC value).
SELECT
    detector,
    fp_x,
    fp_y,
    pixel_scale,
    x_size,
    y_size,
    rotation,
    pixel_size_mm
FROM detectors
ORDER BY detector
