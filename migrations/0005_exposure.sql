-- 0005_exposure: outputs of `calibrate-exposure` (single-exposure calibration).
-- exposure_calibration: one row per exposure (status, fitted WCS, astrometric and photometric fit
-- statistics, provenance); exposure_sources: per-source calibration extras of the rows it writes to
-- `sources`; astrom_matches: its astrometric source-reference matches.
-- Units: arcsec for astrometric statistics, pixels (0-based), degrees, mag, counts, seconds.

-- One row per exposure run through calibrate-exposure (re-running replaces it).
CREATE TABLE exposure_calibration (
    exposure_id               BIGINT PRIMARY KEY,
    run_id                    BIGINT NOT NULL,
    status                    VARCHAR NOT NULL,  -- ok | astrometry_failed | photocal_failed | photocal_skipped
    status_detail             JSON,              -- failure message, error type and diagnostics
    visit                     BIGINT NOT NULL,
    detector                  INTEGER NOT NULL,
    band                      VARCHAR NOT NULL,
    physical_filter           VARCHAR NOT NULL,
    exposure_file             VARCHAR NOT NULL,
    refcat_file               VARCHAR NOT NULL,
    refcat_sha256             VARCHAR NOT NULL,
    wcs_header                VARCHAR,           -- FITS header text (80-char cards) of the WCS: TAN-SIP with AP/BP, or TAN
    wcs_order                 INTEGER,           -- SIP order (1 = TAN)
    wcs_source                VARCHAR,           -- fitted | input (--no-astrometry)
    n_astrom_candidates       INTEGER,           -- clean sources with S/N >= astrometry.min_snr
    n_astrom_match            INTEGER,           -- matched to a reference
    n_astrom_used             INTEGER,           -- survived clipping, in the final fit
    astrom_rms_arcsec         DOUBLE,            -- per-axis RMS of the used residuals, sqrt((rms_ra^2 + rms_dec^2) / 2)
    astrom_rms_ra_arcsec      DOUBLE,
    astrom_rms_dec_arcsec     DOUBLE,
    astrom_offset_mean_arcsec DOUBLE,            -- mean source-reference distance (LSST SFM_ASTROM_OFFSET_MEAN)
    astrom_offset_std_arcsec  DOUBLE,
    astrom_hull_fraction      DOUBLE,            -- convex hull of the matches / chip area
    init_shift_x_pix          DOUBLE,            -- shift of the references from the starting WCS, pixels
    init_shift_y_pix          DOUBLE,
    init_rotation_deg         DOUBLE,            -- rotation of the references from the starting WCS
    zp_mag                    DOUBLE,            -- AB mag of 1 count: mag = zp_mag - 2.5 log10(counts)
    zp_err                    DOUBLE,            -- formal error of the weighted mean (LSST MAGZERO_RMS)
    zp_err_total              DOUBLE,            -- sqrt(zp_err^2 + photocal.zp_sys_floor^2)
    zp_scatter                DOUBLE,            -- star-to-star RMS of the clipped calibration stars
    n_zp                      INTEGER,           -- stars in the zero-point (LSST MAGZERO_NOBJ)
    n_zp_matched              INTEGER,           -- clean S/N-selected sources matched to a reference
    n_zp_reserved             INTEGER,
    magzero                   DOUBLE,            -- zp_mag - 2.5 log10(exptime): mag of 1 count per second
    exptime                   DOUBLE,            -- seconds; NULL when the header has none
    colorterm_primary         VARCHAR,
    colorterm_secondary       VARCHAR,
    colorterm_c0              DOUBLE,
    colorterm_c1              DOUBLE,
    colorterm_c2              DOUBLE,
    calib_flux_def            VARCHAR NOT NULL,  -- the calibration flux, e.g. apFlux_12_0
    psf_fwhm_arcsec           DOUBLE,
    psf_fwhm_source           VARCHAR,           -- header PSF_FWHM | config psf_fwhm_arcsec | estimated from the image
    background_mean           DOUBLE,            -- counts per pixel, subtracted background
    background_rms            DOUBLE,            -- counts per pixel
    n_sources                 INTEGER,           -- detections written to `sources`
    n_sky_sources             INTEGER,
    software_version          VARCHAR NOT NULL,
    config_hash               VARCHAR NOT NULL,  -- sha256 of the JSON of the [exposure] config
    timings                   JSON,              -- seconds per step
    warnings                  JSON,              -- list of warning messages
    created                   TIMESTAMP NOT NULL
);

-- Per-source calibration extras of the rows calibrate-exposure writes to `sources` (same sourceId).
CREATE TABLE exposure_sources (
    exposure_id               BIGINT NOT NULL,
    sourceId                  BIGINT NOT NULL,
    flags                     INTEGER NOT NULL,  -- bit-packed, see fgcm_db.exposure.detect.FLAG_BITS
    snr                       DOUBLE,            -- calibration-aperture S/N
    calib_astrometry_used     BOOLEAN NOT NULL,
    calib_photometry_used     BOOLEAN NOT NULL,
    calib_photometry_reserved BOOLEAN NOT NULL,
    calib_detected            BOOLEAN NOT NULL,  -- matched to a characterisation (icSrc) source
    calib_psf_used            BOOLEAN,           -- copied from the characterisation catalog
    calib_psf_reserved        BOOLEAN,
    mag                       DOUBLE,            -- AB mag = zp_mag - 2.5 log10(calibration flux)
    mag_err                   DOUBLE,
    a                         DOUBLE,            -- pixels, sep semi-major axis
    b                         DOUBLE,
    theta                     DOUBLE,            -- radians
    npix                      INTEGER,
    peak                      DOUBLE,            -- counts
    half_light_radius         DOUBLE,            -- pixels
    PRIMARY KEY (exposure_id, sourceId)
);

-- Astrometric matches of each calibrated exposure.
CREATE TABLE astrom_matches (
    exposure_id       BIGINT NOT NULL,
    sourceId          BIGINT NOT NULL,
    ref_id            BIGINT NOT NULL,
    separation_arcsec DOUBLE NOT NULL,
    dra_arcsec        DOUBLE NOT NULL,   -- (ra_fit - ra_ref) cos(dec)
    ddec_arcsec       DOUBLE NOT NULL,
    used              BOOLEAN NOT NULL   -- survived clipping, in the final fit
);
