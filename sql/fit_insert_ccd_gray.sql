-- fit_insert_ccd_gray: writes ccd_gray for one (run_id, cycle), one row per (visit, detector) with calibration stars, from the registered
-- frame fit_ccd_gray_frame that fgcm_db/fit/tables.py builds from the cycle's arrays.
INSERT INTO ccd_gray (
    run_id,
    cycle,
    visit,
    detector,
    ccd_gray,
    ccd_gray_err,
    ccd_gray_rms,
    n_stars,
    tilings,
    delta_chrom,
    good
)
SELECT
    run_id,
    cycle,
    visit,
    detector,
    ccd_gray,
    ccd_gray_err,
    ccd_gray_rms,
    n_stars,
    tilings,
    delta_chrom,
    good
FROM fit_ccd_gray_frame
