-- ingest_detectors: appends to `detectors` one row per detector of the camera (`camera_rows`, from
-- fgcm_db.camera.Camera.to_arrow); runs right after ingest_delete_detectors, so the camera is replaced.
INSERT INTO detectors (detector, x_size, y_size, fp_x, fp_y, pixel_scale, rotation, is_science, pixel_size_mm)
SELECT detector, x_size, y_size, fp_x, fp_y, pixel_scale, rotation, is_science, pixel_size_mm
FROM camera_rows
