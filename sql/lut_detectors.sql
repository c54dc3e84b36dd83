-- Reads the ingested camera geometry (one row per detector) for make-lut's per-detector curves.
SELECT detector, x_size, y_size, fp_x, fp_y, pixel_scale, rotation, is_science FROM detectors ORDER BY detector
