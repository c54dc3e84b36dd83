-- fit_load_exp_gray: the rows of exp_gray of one (run_id, cycle), one row per visit, to rebuild a cycle's state.
SELECT
    run_id,
    cycle,
    visit,
    band,
    physical_filter,
    night,
    mjd,
    exp_flag,
    photometric,
    exp_gray,
    exp_gray_err,
    exp_gray_rms,
    n_good_ccds,
    n_good_stars,
    pmb,
    pwv,
    o3,
    tau,
    alpha,
    secz,
    qe_sys,
    aper_corr
FROM exp_gray
WHERE run_id = $run_id AND cycle = $cycle
