-- 0007_products: the output products of `fgcm-db calibrate-tract` (CONTRACT.md "Outputs"):
-- photo_calib, std_stars, visit_atmosphere, transmission, plus absolute_calibration (the absolute
-- level per band) and tract_summary (one row per band per run: convergence and final repeatability).
-- Every row carries run_id (the calibrate-tract run) and tract (the --tract number, NULL when the
-- whole database was calibrated as one tract); a new run replaces the rows of its tract.
-- std_stars gains one mag_/magerr_/nobs_ column triple per calibrated band at run time
-- (fgcm_db/products.py, generated with sqlglot, with the same comment convention).
-- Flag bits of photo_calib.flag and visit_atmosphere.flag are defined in fgcm_db/products.py.

CREATE TABLE photo_calib (
    run_id          BIGINT NOT NULL,
    tract           INTEGER,
    visit           BIGINT NOT NULL,
    detector        INTEGER NOT NULL,
    band            VARCHAR NOT NULL,
    physical_filter VARCHAR NOT NULL,
    mjd             DOUBLE NOT NULL,
    calib_mean      DOUBLE NOT NULL,
    calib_err       DOUBLE NOT NULL,
    zp_mag          DOUBLE NOT NULL,
    zp_err          DOUBLE NOT NULL,
    gray_mag        DOUBLE,
    photometric     BOOLEAN NOT NULL,
    flag            INTEGER NOT NULL,
    cheb_coeffs     DOUBLE[],
    bbox_width      INTEGER NOT NULL,
    bbox_height     INTEGER NOT NULL,
    i10             DOUBLE,
    i10_std         DOUBLE,
    abs_offset      DOUBLE NOT NULL
);
COMMENT ON TABLE photo_calib IS 'one row per calibrated (visit, detector): the photometric calibration (CONTRACT.md)';
COMMENT ON COLUMN photo_calib.run_id IS 'calibrate-tract run that wrote the row (runs.run_id)';
COMMENT ON COLUMN photo_calib.tract IS 'tract number given with --tract; NULL when everything ingested was calibrated as one tract';
COMMENT ON COLUMN photo_calib.visit IS 'visit id';
COMMENT ON COLUMN photo_calib.detector IS 'detector id';
COMMENT ON COLUMN photo_calib.band IS 'abstract band';
COMMENT ON COLUMN photo_calib.physical_filter IS 'physical filter';
COMMENT ON COLUMN photo_calib.mjd IS 'mid-exposure time of the visit [MJD]';
COMMENT ON COLUMN photo_calib.calib_mean IS 'calibration at the detector centre for a source with a flat f_nu SED: calibrated flux = instFlux * calib_mean, instFlux in counts of the whole exposure [nJy/count]';
COMMENT ON COLUMN photo_calib.calib_err IS '1-sigma error of calib_mean from the FGCM zero-point error model: 0.4 ln(10) calib_mean zp_err [nJy/count]';
COMMENT ON COLUMN photo_calib.zp_mag IS '31.4 - 2.5 log10(calib_mean): AB magnitude in the standard passband = zp_mag - 2.5 log10(instFlux) [mag]';
COMMENT ON COLUMN photo_calib.zp_err IS 'zero-point error sqrt(sigma_FGCM^2 / max(tilings - 1, 1) + gray variance + sigma_cal^2) (FGCM_ALGORITHM.md 6.5) [mag]';
COMMENT ON COLUMN photo_calib.gray_mag IS 'gray (cloud) term included in zp_mag: the detector gray, or the visit gray for recovered detectors; negative = extinction [mag]';
COMMENT ON COLUMN photo_calib.photometric IS 'the visit passed the photometric selection of the final cycle';
COMMENT ON COLUMN photo_calib.flag IS '0 good; bits: 1 non-photometric visit (gray crunch), 2 no atmosphere fit on its night, 4 detector gray recovered from the visit gray, 8 band not in the fit bands, 16 thick cloud (gray below -[tract] thick_cloud_mag)';
COMMENT ON COLUMN photo_calib.cheb_coeffs IS 'Chebyshev coefficients of calib(x, y) over the detector, row-major (order+1)^2 grid, row = y order, column = x order, u = (x + 0.5 - W/2)/(W/2), v = (y + 0.5 - H/2)/(H/2); NULL = constant calib_mean over the detector [nJy/count]';
COMMENT ON COLUMN photo_calib.bbox_width IS 'detector width W, the Chebyshev domain in x [pixel]';
COMMENT ON COLUMN photo_calib.bbox_height IS 'detector height H, the Chebyshev domain in y [pixel]';
COMMENT ON COLUMN photo_calib.i10 IS 'model I1/I0 at the detector centre with the visit atmosphere: a source of SED slope F'' has standard flux = calibrated flux * (1 + F'' i10_std) / (1 + F'' i10) [nm]';
COMMENT ON COLUMN photo_calib.i10_std IS 'I1/I0 of the band''s standard passband [nm]';
COMMENT ON COLUMN photo_calib.abs_offset IS 'absolute offset of the band included in zp_mag (absolute_calibration.offset_mag) [mag]';

CREATE TABLE std_stars (
    run_id   BIGINT NOT NULL,
    tract    INTEGER,
    star_id  BIGINT NOT NULL,
    ra       DOUBLE NOT NULL,
    dec      DOUBLE NOT NULL,
    reserved BOOLEAN NOT NULL,
    flag     INTEGER NOT NULL
);
COMMENT ON TABLE std_stars IS 'one row per calibrated unique star: AB standard magnitudes per band (mag_{band}, magerr_{band}, nobs_{band})';
COMMENT ON COLUMN std_stars.run_id IS 'calibrate-tract run that wrote the row (runs.run_id)';
COMMENT ON COLUMN std_stars.tract IS 'tract number given with --tract; NULL when everything ingested was calibrated as one tract';
COMMENT ON COLUMN std_stars.star_id IS 'star id (stars.star_id)';
COMMENT ON COLUMN std_stars.ra IS 'right ascension, mean of the star''s observations (ICRS) [deg]';
COMMENT ON COLUMN std_stars.dec IS 'declination, mean of the star''s observations (ICRS) [deg]';
COMMENT ON COLUMN std_stars.reserved IS 'held out of the fit, used for the repeatability';
COMMENT ON COLUMN std_stars.flag IS 'star flag bits of the final cycle: 16 reserved; stars with 1 (too few observations) or 2 (colour outside the cuts) are not in this table';

CREATE TABLE visit_atmosphere (
    run_id                 BIGINT NOT NULL,
    tract                  INTEGER,
    visit                  BIGINT NOT NULL,
    band                   VARCHAR NOT NULL,
    physical_filter        VARCHAR NOT NULL,
    night                  INTEGER NOT NULL,
    mjd                    DOUBLE NOT NULL,
    airmass                DOUBLE,
    pmb                    DOUBLE NOT NULL,
    pwv                    DOUBLE NOT NULL,
    o3                     DOUBLE NOT NULL,
    tau                    DOUBLE NOT NULL,
    alpha                  DOUBLE NOT NULL,
    gray_mag               DOUBLE,
    gray_err               DOUBLE,
    photometric            BOOLEAN NOT NULL,
    exp_flag               INTEGER NOT NULL,
    flag                   INTEGER NOT NULL,
    n_detectors_calibrated INTEGER NOT NULL
);
COMMENT ON TABLE visit_atmosphere IS 'one row per visit: the fitted atmosphere, the visit gray and why it is (not) calibrated';
COMMENT ON COLUMN visit_atmosphere.run_id IS 'calibrate-tract run that wrote the row (runs.run_id)';
COMMENT ON COLUMN visit_atmosphere.tract IS 'tract number given with --tract; NULL when everything ingested was calibrated as one tract';
COMMENT ON COLUMN visit_atmosphere.visit IS 'visit id';
COMMENT ON COLUMN visit_atmosphere.band IS 'abstract band';
COMMENT ON COLUMN visit_atmosphere.physical_filter IS 'physical filter';
COMMENT ON COLUMN visit_atmosphere.night IS 'observing night id (visits.night)';
COMMENT ON COLUMN visit_atmosphere.mjd IS 'mid-exposure time [MJD]';
COMMENT ON COLUMN visit_atmosphere.airmass IS 'secant of the zenith distance at the boresight [1]';
COMMENT ON COLUMN visit_atmosphere.pmb IS 'barometric pressure used in the model (the standard pressure when unknown) [hPa]';
COMMENT ON COLUMN visit_atmosphere.pwv IS 'precipitable water vapour of the fitted atmosphere at the visit [mm]';
COMMENT ON COLUMN visit_atmosphere.o3 IS 'ozone column of the fitted atmosphere [Dobson]';
COMMENT ON COLUMN visit_atmosphere.tau IS 'aerosol optical depth at the normalisation wavelength (775 nm) [1]';
COMMENT ON COLUMN visit_atmosphere.alpha IS 'aerosol Angstrom exponent [1]';
COMMENT ON COLUMN visit_atmosphere.gray_mag IS 'visit (focal-plane) gray: weighted mean of the detector grays; negative = extinction by clouds; NULL when too few good detectors [mag]';
COMMENT ON COLUMN visit_atmosphere.gray_err IS 'formal error of gray_mag [mag]';
COMMENT ON COLUMN visit_atmosphere.photometric IS 'the visit passed the photometric selection of the final cycle';
COMMENT ON COLUMN visit_atmosphere.exp_flag IS 'the fit''s exposure flag bits (exp_gray.exp_flag): 1 too few stars, 2 gray too negative, 4 gray variance too large, 8 too few photometric visits on the night, 16 no stars, 32 band not in the LUT, 128 gray too positive';
COMMENT ON COLUMN visit_atmosphere.flag IS 'photo_calib flag bits that apply to the whole visit (1, 2, 8, 16), plus 64 no calibration stars on the visit, 128 no detector could be calibrated, 256 band not in the look-up table';
COMMENT ON COLUMN visit_atmosphere.n_detectors_calibrated IS 'rows of the visit in photo_calib';

CREATE TABLE transmission (
    run_id       BIGINT NOT NULL,
    tract        INTEGER,
    visit        BIGINT NOT NULL,
    wavelength   DOUBLE NOT NULL,
    transmission DOUBLE NOT NULL
);
COMMENT ON TABLE transmission IS 'one row per (visit, wavelength): atmosphere transmission of the visit on a 1 nm grid, from the atmosphere model at the fitted parameters and the boresight airmass';
COMMENT ON COLUMN transmission.run_id IS 'calibrate-tract run that wrote the row (runs.run_id)';
COMMENT ON COLUMN transmission.tract IS 'tract number given with --tract; NULL when everything ingested was calibrated as one tract';
COMMENT ON COLUMN transmission.visit IS 'visit id';
COMMENT ON COLUMN transmission.wavelength IS 'wavelength in vacuum [nm]';
COMMENT ON COLUMN transmission.transmission IS 'fraction of the light transmitted by the atmosphere [1]';

CREATE TABLE absolute_calibration (
    run_id     BIGINT NOT NULL,
    tract      INTEGER,
    band       VARCHAR NOT NULL,
    source     VARCHAR NOT NULL,
    offset_mag DOUBLE NOT NULL,
    offset_err DOUBLE,
    scatter    DOUBLE,
    n_stars    INTEGER NOT NULL
);
COMMENT ON TABLE absolute_calibration IS 'one row per band: the absolute level added to photo_calib.zp_mag and std_stars mags';
COMMENT ON COLUMN absolute_calibration.run_id IS 'calibrate-tract run that wrote the row (runs.run_id)';
COMMENT ON COLUMN absolute_calibration.tract IS 'tract number given with --tract; NULL when everything ingested was calibrated as one tract';
COMMENT ON COLUMN absolute_calibration.band IS 'abstract band';
COMMENT ON COLUMN absolute_calibration.source IS 'reference catalog (offset = clipped median of reference - standard magnitudes) or model throughput (offset 0)';
COMMENT ON COLUMN absolute_calibration.offset_mag IS 'offset added to every standard magnitude and zero-point of the band [mag]';
COMMENT ON COLUMN absolute_calibration.offset_err IS 'error of the offset: 1.2533 scatter / sqrt(n_stars); NULL for the model throughput [mag]';
COMMENT ON COLUMN absolute_calibration.scatter IS 'star-to-star scatter of reference - standard magnitudes, 1.4826 MAD after clipping; NULL for the model throughput [mag]';
COMMENT ON COLUMN absolute_calibration.n_stars IS 'standard stars with a reference magnitude used (0 for the model throughput)';

CREATE TABLE tract_summary (
    run_id             BIGINT NOT NULL,
    tract              INTEGER,
    band               VARCHAR NOT NULL,
    n_fit_cycles       INTEGER NOT NULL,
    final_cycle        INTEGER NOT NULL,
    converged          BOOLEAN NOT NULL,
    repeatability_mmag DOUBLE,
    n_visits           INTEGER NOT NULL,
    n_stars            INTEGER NOT NULL,
    wall_time_s        DOUBLE NOT NULL
);
COMMENT ON TABLE tract_summary IS 'one row per band of each calibrate-tract run: how the cycles ended';
COMMENT ON COLUMN tract_summary.run_id IS 'calibrate-tract run (runs.run_id); its cycles are in cycle_summary under the same run_id';
COMMENT ON COLUMN tract_summary.tract IS 'tract number given with --tract; NULL when everything ingested was calibrated as one tract';
COMMENT ON COLUMN tract_summary.band IS 'abstract band';
COMMENT ON COLUMN tract_summary.n_fit_cycles IS 'fit cycles run before the final (no-fit) cycle';
COMMENT ON COLUMN tract_summary.final_cycle IS 'cycle number of the final no-fit cycle whose results the products hold';
COMMENT ON COLUMN tract_summary.converged IS 'the reserved-star raw repeatability of every band improved by less than the tolerance in the last fit cycle';
COMMENT ON COLUMN tract_summary.repeatability_mmag IS 'reserved-star raw repeatability of the band in the final cycle [mmag]';
COMMENT ON COLUMN tract_summary.n_visits IS 'visits of the band in the tract';
COMMENT ON COLUMN tract_summary.n_stars IS 'standard stars with a magnitude in the band';
COMMENT ON COLUMN tract_summary.wall_time_s IS 'wall time of the whole calibrate-tract run [s]';
