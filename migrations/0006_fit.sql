-- 0006_fit: results of the FGCM fit cycles (fgcm-db fit-cycle, and the cycles of calibrate-tract).
-- Every table is keyed by (run_id, cycle): run_id is the `runs` row of the command that ran the cycle.
-- Units: mag, mmag (named *_mmag), mm (PWV), Dobson (O3), hPa, nm, days, MJD (TAI).
-- Each column carries a comment 'meaning [unit]' that `fgcm-db export` reads.
-- Flag bits are documented in fgcm_db/fit/flags.py and in the comments below.

-- One row per parameter of the fit vector (and per computed instrument term) of a cycle.
CREATE TABLE fit_params (
    run_id          BIGINT NOT NULL,
    cycle           INTEGER NOT NULL,
    param           VARCHAR NOT NULL,
    night           INTEGER,
    wash            INTEGER,
    band            VARCHAR,
    physical_filter VARCHAR,
    detector        INTEGER,
    value           DOUBLE,
    lower_bound     DOUBLE,
    upper_bound     DOUBLE,
    free            BOOLEAN NOT NULL,
    at_bound        BOOLEAN NOT NULL,
    step_unit       DOUBLE,
    pivot_mjd       DOUBLE
);
COMMENT ON COLUMN fit_params.run_id IS 'run that fitted this cycle (runs.run_id)';
COMMENT ON COLUMN fit_params.cycle IS 'fit cycle number, 0 = first';
COMMENT ON COLUMN fit_params.param IS 'parameter name: o3 [Dobson], alpha [1], ln_pwv_intercept [ln mm], ln_pwv_slope [1/day], ln_tau_intercept [ln 1], ln_tau_slope [1/day], qe_sys_intercept [mag], qe_sys_slope [mag/day], filter_offset [mag], aper_corr_slope [mag per mag of visits.delta_aper], aper_corr_curvature [mag per mag^2], aper_corr_pivot [mag of delta_aper], ccd_chromaticity [nm, I10 offset of the detector passband, focal-plane mean 0]';
COMMENT ON COLUMN fit_params.night IS 'observing night id for nightly atmosphere parameters (visits.night), else NULL';
COMMENT ON COLUMN fit_params.wash IS 'wash (mirror-cleaning) interval index for qe_sys_* parameters, else NULL';
COMMENT ON COLUMN fit_params.band IS 'band for per-band terms (aperture correction), else NULL';
COMMENT ON COLUMN fit_params.physical_filter IS 'physical filter for filter offsets and CCD chromaticity, else NULL';
COMMENT ON COLUMN fit_params.detector IS 'detector id for CCD chromaticity, else NULL';
COMMENT ON COLUMN fit_params.value IS 'fitted (or computed) value, in the unit of the parameter (see param)';
COMMENT ON COLUMN fit_params.lower_bound IS 'lower bound given to the optimiser, NULL when not fitted [unit of param]';
COMMENT ON COLUMN fit_params.upper_bound IS 'upper bound given to the optimiser, NULL when not fitted [unit of param]';
COMMENT ON COLUMN fit_params.free IS 'true when the optimiser varied this parameter in this cycle';
COMMENT ON COLUMN fit_params.at_bound IS 'true when a free parameter ended within 1e-6 of a bound (poorly constrained)';
COMMENT ON COLUMN fit_params.step_unit IS 'optimiser scaling: the optimiser saw value * step_unit [1/unit of param]';
COMMENT ON COLUMN fit_params.pivot_mjd IS 'time where a slope term is zero: mid-night for nightly terms, wash start for qe_sys [MJD]';

-- One row per observing night: the fitted atmosphere model of the night.
CREATE TABLE night_atmosphere (
    run_id               BIGINT NOT NULL,
    cycle                INTEGER NOT NULL,
    night                INTEGER NOT NULL,
    pivot_mjd            DOUBLE NOT NULL,
    fitted               BOOLEAN NOT NULL,
    n_visits             INTEGER NOT NULL,
    n_visits_photometric INTEGER NOT NULL,
    o3                   DOUBLE NOT NULL,
    alpha                DOUBLE NOT NULL,
    ln_pwv_intercept     DOUBLE NOT NULL,
    ln_pwv_slope         DOUBLE NOT NULL,
    ln_tau_intercept     DOUBLE NOT NULL,
    ln_tau_slope         DOUBLE NOT NULL,
    pwv_mean             DOUBLE NOT NULL,
    tau_mean             DOUBLE NOT NULL,
    PRIMARY KEY (run_id, cycle, night)
);
COMMENT ON COLUMN night_atmosphere.run_id IS 'run that fitted this cycle (runs.run_id)';
COMMENT ON COLUMN night_atmosphere.cycle IS 'fit cycle number';
COMMENT ON COLUMN night_atmosphere.night IS 'observing night id (visits.night)';
COMMENT ON COLUMN night_atmosphere.pivot_mjd IS 'mid-night time where the ln PWV and ln tau slopes are zero: midpoint of the first and last visit of the night [MJD]';
COMMENT ON COLUMN night_atmosphere.fitted IS 'true when the night had enough photometric visits for its atmosphere to be fitted (in this cycle, or in the fitting cycle a final cycle follows); false: standard or previous values';
COMMENT ON COLUMN night_atmosphere.n_visits IS 'visits of the night, all bands';
COMMENT ON COLUMN night_atmosphere.n_visits_photometric IS 'photometric visits of the night in fit bands';
COMMENT ON COLUMN night_atmosphere.o3 IS 'ozone column [Dobson]';
COMMENT ON COLUMN night_atmosphere.alpha IS 'aerosol Angstrom exponent [1]';
COMMENT ON COLUMN night_atmosphere.ln_pwv_intercept IS 'ln PWV at pivot_mjd [ln mm]';
COMMENT ON COLUMN night_atmosphere.ln_pwv_slope IS 'd ln PWV / dt [1/day]';
COMMENT ON COLUMN night_atmosphere.ln_tau_intercept IS 'ln aerosol optical depth at the normalisation wavelength, at pivot_mjd [ln 1]';
COMMENT ON COLUMN night_atmosphere.ln_tau_slope IS 'd ln tau / dt [1/day]';
COMMENT ON COLUMN night_atmosphere.pwv_mean IS 'mean over the night''s visits of the modelled PWV [mm]';
COMMENT ON COLUMN night_atmosphere.tau_mean IS 'mean over the night''s visits of the modelled aerosol optical depth [1]';

-- One row per visit: exposure gray, photometric selection and the visit's fitted atmosphere.
CREATE TABLE exp_gray (
    run_id          BIGINT NOT NULL,
    cycle           INTEGER NOT NULL,
    visit           BIGINT NOT NULL,
    band            VARCHAR NOT NULL,
    physical_filter VARCHAR NOT NULL,
    night           INTEGER NOT NULL,
    mjd             DOUBLE NOT NULL,
    exp_flag        INTEGER NOT NULL,
    photometric     BOOLEAN NOT NULL,
    exp_gray        DOUBLE,
    exp_gray_err    DOUBLE,
    exp_gray_rms    DOUBLE,
    n_good_ccds     INTEGER NOT NULL,
    n_good_stars    INTEGER NOT NULL,
    pmb             DOUBLE NOT NULL,
    pwv             DOUBLE NOT NULL,
    o3              DOUBLE NOT NULL,
    tau             DOUBLE NOT NULL,
    alpha           DOUBLE NOT NULL,
    secz            DOUBLE,
    qe_sys          DOUBLE NOT NULL,
    aper_corr       DOUBLE NOT NULL,
    PRIMARY KEY (run_id, cycle, visit)
);
COMMENT ON COLUMN exp_gray.run_id IS 'run that fitted this cycle (runs.run_id)';
COMMENT ON COLUMN exp_gray.cycle IS 'fit cycle number';
COMMENT ON COLUMN exp_gray.visit IS 'visit id';
COMMENT ON COLUMN exp_gray.band IS 'band of the visit';
COMMENT ON COLUMN exp_gray.physical_filter IS 'physical filter of the visit';
COMMENT ON COLUMN exp_gray.night IS 'observing night id';
COMMENT ON COLUMN exp_gray.mjd IS 'mid-exposure time [MJD]';
COMMENT ON COLUMN exp_gray.exp_flag IS 'exposure flag bits, 0 = photometric: 1 too few stars, 2 gray too negative, 4 gray variance too large, 8 too few photometric visits on the night, 16 no stars, 32 band not in the LUT, 128 gray too positive';
COMMENT ON COLUMN exp_gray.photometric IS 'exp_flag = 0: the visit constrained the atmosphere fit';
COMMENT ON COLUMN exp_gray.exp_gray IS 'weighted mean over good detectors of the detector gray <m_std> - m_std; negative = fainter than the model (clouds); NULL when fewer than the minimum good detectors [mag]';
COMMENT ON COLUMN exp_gray.exp_gray_err IS 'formal error of exp_gray [mag]';
COMMENT ON COLUMN exp_gray.exp_gray_rms IS 'weighted rms of detector grays about exp_gray [mag]';
COMMENT ON COLUMN exp_gray.n_good_ccds IS 'detectors with a good detector gray';
COMMENT ON COLUMN exp_gray.n_good_stars IS 'calibration stars on good detectors';
COMMENT ON COLUMN exp_gray.pmb IS 'pressure used in the model (standard pressure when unknown) [hPa]';
COMMENT ON COLUMN exp_gray.pwv IS 'modelled precipitable water vapour at the visit [mm]';
COMMENT ON COLUMN exp_gray.o3 IS 'modelled ozone column [Dobson]';
COMMENT ON COLUMN exp_gray.tau IS 'modelled aerosol optical depth at the normalisation wavelength [1]';
COMMENT ON COLUMN exp_gray.alpha IS 'modelled aerosol Angstrom exponent [1]';
COMMENT ON COLUMN exp_gray.secz IS 'secant of the zenith distance at the boresight [1]';
COMMENT ON COLUMN exp_gray.qe_sys IS 'gray instrument throughput term (mirror/dust), added to instrumental magnitudes [mag]';
COMMENT ON COLUMN exp_gray.aper_corr IS 'aperture correction added to instrumental magnitudes [mag]';

-- One row per (visit, detector) with observations: the detector gray.
CREATE TABLE ccd_gray (
    run_id       BIGINT NOT NULL,
    cycle        INTEGER NOT NULL,
    visit        BIGINT NOT NULL,
    detector     INTEGER NOT NULL,
    ccd_gray     DOUBLE,
    ccd_gray_err DOUBLE,
    ccd_gray_rms DOUBLE,
    n_stars      INTEGER NOT NULL,
    tilings      DOUBLE,
    delta_chrom  DOUBLE,
    good         BOOLEAN NOT NULL,
    PRIMARY KEY (run_id, cycle, visit, detector)
);
COMMENT ON COLUMN ccd_gray.run_id IS 'run that fitted this cycle (runs.run_id)';
COMMENT ON COLUMN ccd_gray.cycle IS 'fit cycle number';
COMMENT ON COLUMN ccd_gray.visit IS 'visit id';
COMMENT ON COLUMN ccd_gray.detector IS 'detector id';
COMMENT ON COLUMN ccd_gray.ccd_gray IS 'inverse-variance weighted mean of <m_std> - m_std over the calibration stars on the detector; NULL with fewer than 3 stars [mag]';
COMMENT ON COLUMN ccd_gray.ccd_gray_err IS 'formal error of ccd_gray [mag]';
COMMENT ON COLUMN ccd_gray.ccd_gray_rms IS 'weighted rms of the star residuals about ccd_gray [mag]';
COMMENT ON COLUMN ccd_gray.n_stars IS 'calibration stars used';
COMMENT ON COLUMN ccd_gray.tilings IS 'mean number of good photometric observations of the stars used [1]';
COMMENT ON COLUMN ccd_gray.delta_chrom IS 'weighted mean chromatic correction delta_std of the stars used [mag]';
COMMENT ON COLUMN ccd_gray.good IS 'n_stars >= min_star_per_ccd and 0 < ccd_gray_err <= max_ccd_gray_err';

-- One row per (epoch, physical filter, detector): the superstar flat (illumination correction).
CREATE TABLE superstar (
    run_id            BIGINT NOT NULL,
    cycle             INTEGER NOT NULL,
    epoch             INTEGER NOT NULL,
    physical_filter   VARCHAR NOT NULL,
    detector          INTEGER NOT NULL,
    superstar         DOUBLE NOT NULL,
    superstar_applied DOUBLE NOT NULL,
    superstar_err     DOUBLE,
    n_stars           INTEGER NOT NULL,
    superstar_cheb    DOUBLE[],
    PRIMARY KEY (run_id, cycle, epoch, physical_filter, detector)
);
COMMENT ON COLUMN superstar.run_id IS 'run that fitted this cycle (runs.run_id)';
COMMENT ON COLUMN superstar.cycle IS 'fit cycle number';
COMMENT ON COLUMN superstar.epoch IS 'flat-field epoch index (0-based, from fit.epoch_mjds)';
COMMENT ON COLUMN superstar.physical_filter IS 'physical filter';
COMMENT ON COLUMN superstar.detector IS 'detector id';
COMMENT ON COLUMN superstar.superstar IS 'superstar flat at the detector centre, added to instrumental magnitudes: estimated after this cycle''s fit, used in this cycle''s grays, zero-points and star magnitudes and in the next cycle''s fit [mag]';
COMMENT ON COLUMN superstar.superstar_applied IS 'superstar flat in force during this cycle''s atmosphere fit [mag]';
COMMENT ON COLUMN superstar.superstar_err IS 'formal error of superstar [mag]';
COMMENT ON COLUMN superstar.n_stars IS 'star observations used';
COMMENT ON COLUMN superstar.superstar_cheb IS 'sub-detector superstar S(u, v) added to instrumental magnitudes: Chebyshev coefficients, row-major (order+1)^2 grid (row = y order, column = x order), u = (x + 0.5 - W/2)/(W/2), v = (y + 0.5 - H/2)/(H/2); S(0, 0) = superstar; NULL when [fit] superstar_sub_ccd_order = 0 [mag]';

-- One row per (star, band): mean standard magnitudes of the cycle.
CREATE TABLE star_mags (
    run_id      BIGINT NOT NULL,
    cycle       INTEGER NOT NULL,
    star_id     BIGINT NOT NULL,
    band        VARCHAR NOT NULL,
    mag_std     DOUBLE,
    mag_std_err DOUBLE,
    mag_std_raw DOUBLE,
    n_good      INTEGER NOT NULL,
    n_total     INTEGER NOT NULL,
    sed_slope   DOUBLE,
    PRIMARY KEY (run_id, cycle, star_id, band)
);
COMMENT ON COLUMN star_mags.run_id IS 'run that fitted this cycle (runs.run_id)';
COMMENT ON COLUMN star_mags.cycle IS 'fit cycle number';
COMMENT ON COLUMN star_mags.star_id IS 'star id (stars.star_id)';
COMMENT ON COLUMN star_mags.band IS 'band';
COMMENT ON COLUMN star_mags.mag_std IS 'inverse-variance weighted mean of the gray-corrected (crunched) standard magnitudes on photometric visits: AB magnitude in the standard passband [mag]';
COMMENT ON COLUMN star_mags.mag_std_err IS 'formal error of mag_std [mag]';
COMMENT ON COLUMN star_mags.mag_std_raw IS 'the same mean without the detector gray correction [mag]';
COMMENT ON COLUMN star_mags.n_good IS 'good observations on photometric visits used in mag_std';
COMMENT ON COLUMN star_mags.n_total IS 'all observations of the star in the band';
COMMENT ON COLUMN star_mags.sed_slope IS 'normalised SED slope F'' = (d f_nu / d lambda) / f_nu at the band''s standard wavelength used in the chromatic correction [1/nm]';

-- One row per star: the star flags of the cycle (carried to the next cycle).
CREATE TABLE star_flags (
    run_id   BIGINT NOT NULL,
    cycle    INTEGER NOT NULL,
    star_id  BIGINT NOT NULL,
    flag     INTEGER NOT NULL,
    reserved BOOLEAN NOT NULL,
    PRIMARY KEY (run_id, cycle, star_id)
);
COMMENT ON COLUMN star_flags.run_id IS 'run that fitted this cycle (runs.run_id)';
COMMENT ON COLUMN star_flags.cycle IS 'fit cycle number';
COMMENT ON COLUMN star_flags.star_id IS 'star id (stars.star_id)';
COMMENT ON COLUMN star_flags.flag IS 'star flag bits, 0 = calibration star: 1 too few good observations, 2 colour outside the cuts, 16 reserved (held out of the fit)';
COMMENT ON COLUMN star_flags.reserved IS 'held out of the fit, used for repeatability';

-- One row per (cycle, band): convergence history (CONTRACT.md) plus the cycle's statistics.
CREATE TABLE cycle_summary (
    run_id                      BIGINT NOT NULL,
    cycle                       INTEGER NOT NULL,
    band                        VARCHAR NOT NULL,
    n_visits                    INTEGER NOT NULL,
    n_visits_photometric        INTEGER NOT NULL,
    n_stars                     INTEGER NOT NULL,
    chi2_per_dof                DOUBLE,
    repeatability_mmag          DOUBLE,
    crunched_repeatability_mmag DOUBLE,
    sigma_fgcm_mmag             DOUBLE,
    sigma_cal_mmag              DOUBLE,
    exp_gray_cut_low            DOUBLE NOT NULL,
    exp_gray_cut_high           DOUBLE NOT NULL,
    exp_var_gray_cut            DOUBLE NOT NULL,
    next_exp_gray_cut_low       DOUBLE NOT NULL,
    next_exp_gray_cut_high      DOUBLE NOT NULL,
    next_exp_var_gray_cut       DOUBLE NOT NULL,
    n_evaluations               INTEGER NOT NULL,
    optimizer_status            VARCHAR NOT NULL,
    converged                   BOOLEAN NOT NULL,
    PRIMARY KEY (run_id, cycle, band)
);
COMMENT ON COLUMN cycle_summary.run_id IS 'run that fitted this cycle (runs.run_id)';
COMMENT ON COLUMN cycle_summary.cycle IS 'fit cycle number';
COMMENT ON COLUMN cycle_summary.band IS 'band';
COMMENT ON COLUMN cycle_summary.n_visits IS 'visits in the band';
COMMENT ON COLUMN cycle_summary.n_visits_photometric IS 'visits in the band that passed the photometric selection at the end of the cycle';
COMMENT ON COLUMN cycle_summary.n_stars IS 'calibration stars (not reserved, not flagged) with good observations in the band';
COMMENT ON COLUMN cycle_summary.chi2_per_dof IS 'chi2 per degree of freedom of the fit at its end (all fit bands; same value in every row of the cycle) [1]';
COMMENT ON COLUMN cycle_summary.repeatability_mmag IS 'reserved bright stars raw repeatability: Gaussian width of <m_std> - m_std on photometric visits, before gray correction [mmag]';
COMMENT ON COLUMN cycle_summary.crunched_repeatability_mmag IS 'the same after the detector gray correction [mmag]';
COMMENT ON COLUMN cycle_summary.sigma_fgcm_mmag IS 'intrinsic per-observation calibration scatter sigma_FGCM (photometric noise removed) [mmag]';
COMMENT ON COLUMN cycle_summary.sigma_cal_mmag IS 'systematic error floor sigma_cal from reserved stars [mmag]';
COMMENT ON COLUMN cycle_summary.exp_gray_cut_low IS 'most negative exposure gray accepted as photometric in this cycle [mag]';
COMMENT ON COLUMN cycle_summary.exp_gray_cut_high IS 'most positive exposure gray accepted as photometric in this cycle [mag]';
COMMENT ON COLUMN cycle_summary.exp_var_gray_cut IS 'largest variance of the detector grays across the focal plane accepted as photometric in this cycle [mag^2]';
COMMENT ON COLUMN cycle_summary.next_exp_var_gray_cut IS 'automatic variance cut for the next cycle [mag^2]';
COMMENT ON COLUMN cycle_summary.next_exp_gray_cut_low IS 'automatic low cut for the next cycle [mag]';
COMMENT ON COLUMN cycle_summary.next_exp_gray_cut_high IS 'automatic high cut for the next cycle [mag]';
COMMENT ON COLUMN cycle_summary.n_evaluations IS 'chi2 + gradient evaluations of the optimiser';
COMMENT ON COLUMN cycle_summary.optimizer_status IS 'how the optimiser stopped (converged, budget, stalled, frozen, no-fit)';
COMMENT ON COLUMN cycle_summary.converged IS 'repeatability of every band improved by less than fit.convergence_tolerance since the previous cycle';

-- One row per (visit, detector) of the camera for every visit: the zero-points (FGCM_ALGORITHM.md 8.1).
CREATE TABLE zeropoints (
    run_id          BIGINT NOT NULL,
    cycle           INTEGER NOT NULL,
    visit           BIGINT NOT NULL,
    detector        INTEGER NOT NULL,
    band            VARCHAR NOT NULL,
    physical_filter VARCHAR NOT NULL,
    flag            INTEGER NOT NULL,
    photometric     BOOLEAN NOT NULL,
    zp              DOUBLE,
    zp_err          DOUBLE,
    i0              DOUBLE,
    i10             DOUBLE,
    gray            DOUBLE,
    gray_var        DOUBLE,
    tilings         DOUBLE,
    fp_gray         DOUBLE,
    fp_gray_var     DOUBLE,
    qe_sys          DOUBLE NOT NULL,
    filter_offset   DOUBLE NOT NULL,
    superstar       DOUBLE,
    aper_corr       DOUBLE NOT NULL,
    delta_chrom     DOUBLE,
    exptime         DOUBLE NOT NULL,
    mjd             DOUBLE NOT NULL,
    secz            DOUBLE,
    pmb             DOUBLE NOT NULL,
    pwv             DOUBLE NOT NULL,
    o3              DOUBLE NOT NULL,
    tau             DOUBLE NOT NULL,
    alpha           DOUBLE NOT NULL,
    PRIMARY KEY (run_id, cycle, visit, detector)
);
COMMENT ON COLUMN zeropoints.run_id IS 'run that fitted this cycle (runs.run_id)';
COMMENT ON COLUMN zeropoints.cycle IS 'fit cycle number';
COMMENT ON COLUMN zeropoints.visit IS 'visit id';
COMMENT ON COLUMN zeropoints.detector IS 'detector id';
COMMENT ON COLUMN zeropoints.band IS 'band';
COMMENT ON COLUMN zeropoints.physical_filter IS 'physical filter';
COMMENT ON COLUMN zeropoints.flag IS 'zero-point flag bits: 1 photometric fit-band visit, 2 photometric non-fit-band visit, 4 non-photometric visit on a fitted night, 8 visit on a night without atmosphere fit, 16 cannot compute, 32 too few stars on the detector (no good or recoverable gray)';
COMMENT ON COLUMN zeropoints.photometric IS 'the visit passed the photometric selection';
COMMENT ON COLUMN zeropoints.zp IS 'zero-point: AB magnitude (flat f_nu SED, standard passband) = zp - 2.5 log10(counts), counts in the whole exposure, at the detector centre; NULL when flag has 16 or 32 [mag]';
COMMENT ON COLUMN zeropoints.zp_err IS 'zero-point error: sqrt(sigma_FGCM^2 / max(tilings - 1, 1) + gray_var + sigma_cal^2) [mag]';
COMMENT ON COLUMN zeropoints.i0 IS 'model passband integral I0 at the detector centre with the visit''s fitted atmosphere, pressure factor included [1]';
COMMENT ON COLUMN zeropoints.i10 IS 'model I1/I0 at the detector centre: for a source of SED slope F'' the standard magnitude is the zp magnitude + 2.5 log10((1 + F'' i10) / (1 + F'' i10_std)) [nm]';
COMMENT ON COLUMN zeropoints.gray IS 'gray term in zp: the detector gray, or the exposure gray for recovered detectors [mag]';
COMMENT ON COLUMN zeropoints.gray_var IS 'variance of the gray term: ccd_gray_err^2, or exp_gray_rms^2 when recovered [mag^2]';
COMMENT ON COLUMN zeropoints.tilings IS 'mean good observations per calibration star on the detector (the visit mean when recovered) [1]';
COMMENT ON COLUMN zeropoints.fp_gray IS 'exposure gray (exp_gray) when the visit has enough good detectors [mag]';
COMMENT ON COLUMN zeropoints.fp_gray_var IS 'variance of the detector grays across the focal plane (exp_gray_rms^2) [mag^2]';
COMMENT ON COLUMN zeropoints.qe_sys IS 'gray instrument throughput term of the visit [mag]';
COMMENT ON COLUMN zeropoints.filter_offset IS 'filter offset of the physical filter [mag]';
COMMENT ON COLUMN zeropoints.superstar IS 'superstar flat applied at the detector centre [mag]';
COMMENT ON COLUMN zeropoints.aper_corr IS 'aperture correction of the visit [mag]';
COMMENT ON COLUMN zeropoints.delta_chrom IS 'weighted mean chromatic correction of the stars on the detector (diagnostic) [mag]';
COMMENT ON COLUMN zeropoints.exptime IS 'exposure time [s]';
COMMENT ON COLUMN zeropoints.mjd IS 'mid-exposure time [MJD]';
COMMENT ON COLUMN zeropoints.secz IS 'secant of the zenith distance at the detector centre [1]';
COMMENT ON COLUMN zeropoints.pmb IS 'pressure used in the model [hPa]';
COMMENT ON COLUMN zeropoints.pwv IS 'modelled precipitable water vapour of the visit [mm]';
COMMENT ON COLUMN zeropoints.o3 IS 'modelled ozone column of the visit [Dobson]';
COMMENT ON COLUMN zeropoints.tau IS 'modelled aerosol optical depth of the visit [1]';
COMMENT ON COLUMN zeropoints.alpha IS 'modelled aerosol Angstrom exponent of the visit [1]';
