-- 0001_core: bookkeeping (schema_migrations, runs, metadata) and the ingested inputs
-- (sources, observations, visits, visit_detectors, detectors, refcat, selection_summary).
-- Units: degrees, pixels, counts, seconds, hPa, magnitudes; see CONTRACT.md.

CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL,
    checksum   VARCHAR NOT NULL
);

CREATE SEQUENCE IF NOT EXISTS runs_seq START 1;

-- One row per command invocation that writes to the database.
CREATE TABLE runs (
    run_id   BIGINT PRIMARY KEY,
    command  VARCHAR NOT NULL,
    config   JSON,
    version  VARCHAR NOT NULL,
    started  TIMESTAMP NOT NULL,
    finished TIMESTAMP,
    status   VARCHAR NOT NULL,      -- running | ok | failed | interrupted
    error    VARCHAR
);

-- Small key/value facts about the database (e.g. the observatory site used at ingest), JSON values.
CREATE TABLE metadata (
    key     VARCHAR PRIMARY KEY,
    value   JSON,
    updated TIMESTAMP
);

-- Camera geometry: one row per detector.
CREATE TABLE detectors (
    detector    INTEGER PRIMARY KEY,
    x_size      INTEGER NOT NULL,     -- pixels
    y_size      INTEGER NOT NULL,     -- pixels
    fp_x        DOUBLE NOT NULL,      -- focal-plane x of the detector centre, mm
    fp_y        DOUBLE NOT NULL,      -- focal-plane y of the detector centre, mm
    pixel_scale DOUBLE NOT NULL,      -- arcsec / pixel
    rotation    DOUBLE NOT NULL,      -- degrees, detector x axis vs focal-plane x axis
    is_science  BOOLEAN NOT NULL DEFAULT TRUE,
    pixel_size_mm DOUBLE              -- mm / pixel
);

-- One row per visit (exposure); derived from the visit summary's per-detector rows.
CREATE TABLE visits (
    visit           BIGINT PRIMARY KEY,
    band            VARCHAR NOT NULL,
    physical_filter VARCHAR NOT NULL,
    mjd             DOUBLE NOT NULL,  -- MJD (TAI) of mid-exposure
    exptime         DOUBLE NOT NULL,  -- seconds
    night           INTEGER NOT NULL, -- floor(mjd + ut_boundary): the observing night id
    hour_angle      DOUBLE,           -- degrees, boresight hour angle (LST - RA), in (-180, 180]
    boresight_ra    DOUBLE NOT NULL,  -- degrees
    boresight_dec   DOUBLE NOT NULL,  -- degrees
    boresight_rot   DOUBLE,           -- degrees
    zenith_distance DOUBLE,           -- degrees, at the boresight
    airmass         DOUBLE,           -- sec z at the boresight
    pressure        DOUBLE,           -- hPa; NULL when unknown
    psf_sigma       DOUBLE,           -- pixels, median over detectors
    sky_bg          DOUBLE,           -- counts per pixel, median over detectors
    delta_aper      DOUBLE,           -- mag, median delta-aperture of the selected sources
    n_detectors     INTEGER,
    source_file     VARCHAR,          -- the visit summary file
    run_id          BIGINT            -- the ingest run that wrote this visit
);

-- One row per (visit, detector) of the visit summary.
CREATE TABLE visit_detectors (
    visit           BIGINT NOT NULL,
    detector        INTEGER NOT NULL,
    band            VARCHAR NOT NULL,
    physical_filter VARCHAR NOT NULL,
    psf_sigma       DOUBLE,           -- pixels
    sky_bg          DOUBLE,           -- counts per pixel
    zenith_distance DOUBLE,           -- degrees
    PRIMARY KEY (visit, detector)
);

-- Every ingested source row, canonical column names (CONTRACT.md). No primary key on purpose:
-- duplicates of sourceId are refused by ingest before insertion, and an index would cost memory
-- at 10^7 rows.
CREATE TABLE sources (
    sourceId                       BIGINT NOT NULL,
    visit                          BIGINT NOT NULL,
    detector                       INTEGER NOT NULL,
    band                           VARCHAR NOT NULL,
    physical_filter                VARCHAR NOT NULL,
    coord_ra                       DOUBLE,   -- degrees
    coord_dec                      DOUBLE,   -- degrees
    x                              DOUBLE,   -- pixels
    y                              DOUBLE,   -- pixels
    apFlux_12_0_instFlux           DOUBLE,   -- counts
    apFlux_12_0_instFluxErr        DOUBLE,   -- counts
    apFlux_12_0_flag               BOOLEAN,
    apFlux_17_0_instFlux           DOUBLE,   -- counts
    apFlux_17_0_instFluxErr        DOUBLE,   -- counts
    apFlux_17_0_flag               BOOLEAN,
    localBackground_instFlux       DOUBLE,   -- counts per pixel
    localBackground_flag           BOOLEAN,
    extendedness                   DOUBLE,
    pixelFlags_saturatedCenter     BOOLEAN,
    pixelFlags_interpolatedCenter  BOOLEAN,
    pixelFlags_edge                BOOLEAN,
    pixelFlags_cr                  BOOLEAN,
    pixelFlags_bad                 BOOLEAN,
    pixelFlags_crCenter            BOOLEAN,
    pixelFlags_interpolated        BOOLEAN,
    pixelFlags_saturated           BOOLEAN,
    centroid_flag                  BOOLEAN,
    detect_isPrimary               BOOLEAN,
    sky_source                     BOOLEAN,
    deblend_nChild                 INTEGER,
    parentSourceId                 BIGINT,
    calib_psf_candidate            BOOLEAN,
    psfFlux                        DOUBLE,   -- counts
    psfFluxErr                     DOUBLE,   -- counts
    psfFlux_flag                   BOOLEAN,
    ixx                            DOUBLE,   -- pixels^2
    iyy                            DOUBLE,
    ixy                            DOUBLE,
    source_file                    VARCHAR,
    source_row                     BIGINT    -- 0-based row of this source in source_file
);

-- The selected sources: one row per observation usable for calibration.
CREATE TABLE observations (
    sourceId           BIGINT NOT NULL,
    visit              BIGINT NOT NULL,
    detector           INTEGER NOT NULL,
    band               VARCHAR NOT NULL,
    physical_filter    VARCHAR NOT NULL,
    ra                 DOUBLE NOT NULL,  -- degrees
    dec                DOUBLE NOT NULL,  -- degrees
    x                  DOUBLE,           -- pixels
    y                  DOUBLE,           -- pixels
    healpix            BIGINT NOT NULL,  -- HEALPix nest pixel id at nside 16384 (order 14, ~12.9 arcsec)
    inst_flux          DOUBLE NOT NULL,  -- counts in the calibration aperture (background-subtracted when enabled)
    inst_flux_err      DOUBLE NOT NULL,  -- counts
    inst_mag           DOUBLE NOT NULL,  -- mag per second of exposure: -2.5 log10(inst_flux / exptime) (includes delta_mag_bkg)
    inst_mag_err       DOUBLE NOT NULL,  -- mag
    delta_mag_aper     DOUBLE,           -- mag: -2.5 log10(F_12 / F_17); NULL when not finite
    delta_mag_aper_err DOUBLE,           -- mag
    delta_mag_bkg      DOUBLE NOT NULL,  -- mag, magnitude change from the local-background subtraction (0 when off)
    airmass            DOUBLE,           -- sec z of this source at mid-exposure
    psf_candidate      BOOLEAN
);

-- Reference catalog, long format: one row per (reference star, band).
CREATE TABLE refcat (
    ref_id   BIGINT NOT NULL,
    ra       DOUBLE NOT NULL,   -- degrees
    dec      DOUBLE NOT NULL,   -- degrees
    healpix  BIGINT NOT NULL,   -- nest, nside 16384
    band     VARCHAR NOT NULL,
    flux     DOUBLE,            -- nJy
    flux_err DOUBLE,            -- nJy
    mag      DOUBLE,            -- AB mag from flux
    mag_err  DOUBLE             -- mag
);

-- Source selection bookkeeping: one row per visit. A row rejected for several reasons counts in
-- each of them; n_kept = rows passing every cut.
CREATE TABLE selection_summary (
    visit            BIGINT PRIMARY KEY,
    n_in             BIGINT NOT NULL,
    n_flagged        BIGINT NOT NULL,  -- any pixel/measurement flag set
    n_extended       BIGINT NOT NULL,  -- extendedness >= cut
    n_low_sn         BIGINT NOT NULL,  -- S/N <= min (or not finite)
    n_high_sn        BIGINT NOT NULL,  -- S/N >= max
    n_blended        BIGINT NOT NULL,  -- parent != 0 or deblend_nChild > 0
    n_sky            BIGINT NOT NULL,  -- sky sources
    n_bad_coord      BIGINT NOT NULL,  -- non-finite coordinates
    n_bad_background BIGINT NOT NULL,  -- flux <= 0 after local-background subtraction
    n_kept           BIGINT NOT NULL,
    run_id           BIGINT            -- the ingest run that wrote this row
);
