-- fit_load_ccd_gray: the rows of ccd_gray of one (run_id, cycle), one row per (visit, detector) with calibration stars, to rebuild a cycle's state.
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
FROM ccd_gray
WHERE run_id = $run_id AND cycle = $cycle
