-- exposure_delete_calibration: removes the exposure_calibration row of one exposure.
DELETE FROM exposure_calibration WHERE exposure_id = $exposure_id
