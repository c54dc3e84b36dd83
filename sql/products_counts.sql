-- products_counts: what run $run_id wrote (one row): photo_calib rows, std_stars rows, visits and visits
-- with at least one calibrated detector, from photo_calib, std_stars and visit_atmosphere.
SELECT
    (SELECT count(*) FROM photo_calib WHERE run_id = $run_id) AS n_photo_calib,
    (SELECT count(*) FROM std_stars WHERE run_id = $run_id) AS n_std_stars,
    (SELECT count(*) FROM visit_atmosphere WHERE run_id = $run_id) AS n_visits,
    (SELECT count(*) FROM visit_atmosphere WHERE run_id = $run_id AND n_detectors_calibrated > 0) AS n_visits_calibrated
