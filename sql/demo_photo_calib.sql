-- demo_photo_calib: the zero-points of the latest calibrate-tract run (one row per calibrated (visit,
-- detector)), from photo_calib and tract_summary; compared with a simulation's truth by the demo.
SELECT
    pc.visit,
    pc.detector,
    pc.band,
    pc.zp_mag,
    pc.photometric
FROM photo_calib AS pc
WHERE pc.run_id = (SELECT max(run_id) FROM tract_summary)
ORDER BY pc.visit, pc.detector
