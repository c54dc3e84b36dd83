-- 0004_stars: outputs of `fgcm-db build-stars` (stars, star_nobs, star_obs, star_ref, build_stats).
-- Every id is BIGINT; every row carries the run_id of the build that wrote it. build-stars replaces
-- all rows of these tables on each run. `stars` also gets one `nobs_{band}`
-- column per observed band (the band set depends on the data: build-stars adds and drops those
-- columns with ALTER TABLE); the columns below are always there.

-- One row per calibration star (only stars that passed every cut).
CREATE TABLE stars (
    star_id  BIGINT NOT NULL,
    ra       DOUBLE NOT NULL,    -- degrees, mean of the star's observations
    dec      DOUBLE NOT NULL,    -- degrees
    healpix  BIGINT NOT NULL,    -- nest, nside 16384 (order 14)
    n_obs    BIGINT NOT NULL,    -- observations of the star, all bands
    reserved BOOLEAN NOT NULL,   -- held out of the fit (stable hash of star_id)
    flag     INTEGER NOT NULL,   -- bit 16: reserved (fgcm's RESERVED bit); 0 otherwise
    run_id   BIGINT NOT NULL
);

-- Observations per (star, band): the long form of the `stars` nobs_{band} columns.
CREATE TABLE star_nobs (
    star_id BIGINT NOT NULL,
    band    VARCHAR NOT NULL,
    nobs    BIGINT NOT NULL,
    run_id  BIGINT NOT NULL
);

-- One row per observation assigned to a star (observation keys as in `observations`).
CREATE TABLE star_obs (
    star_id     BIGINT NOT NULL,
    visit       BIGINT NOT NULL,
    detector    INTEGER NOT NULL,
    sourceId    BIGINT NOT NULL,
    band        VARCHAR NOT NULL,
    dist_arcsec DOUBLE NOT NULL,  -- arcsec, distance from the star's seed position
    run_id      BIGINT NOT NULL
);

-- One row per (star, band) with a reference magnitude (nearest reference object within the radius).
CREATE TABLE star_ref (
    star_id     BIGINT NOT NULL,
    band        VARCHAR NOT NULL,   -- observed band the magnitude is for (after colour terms)
    ref_mag     DOUBLE NOT NULL,    -- AB mag
    ref_mag_err DOUBLE NOT NULL,    -- mag
    ref_id      BIGINT NOT NULL,    -- refcat.ref_id
    dist_arcsec DOUBLE NOT NULL,    -- arcsec, star to reference object
    run_id      BIGINT NOT NULL
);

-- Counts at each step of the last build (band NULL for counts over all bands).
CREATE TABLE build_stats (
    step_order INTEGER NOT NULL,
    step       VARCHAR NOT NULL,
    band       VARCHAR,
    n          BIGINT NOT NULL,
    run_id     BIGINT NOT NULL
);

COMMENT ON TABLE stars IS 'one row per calibration star of the last build-stars (only stars passing every cut); one nobs_{band} column per observed band is added by build-stars';
COMMENT ON COLUMN stars.star_id IS 'star id, 1..N in HEALPix order of the seed position (ids of removed stars are skipped)';
COMMENT ON COLUMN stars.ra IS 'right ascension, mean unit vector of the star''s observations [deg]';
COMMENT ON COLUMN stars.dec IS 'declination, mean unit vector of the star''s observations [deg]';
COMMENT ON COLUMN stars.healpix IS 'HEALPix nest pixel id at nside 16384 (order 14) of (ra, dec)';
COMMENT ON COLUMN stars.n_obs IS 'observations of the star, all bands [1]';
COMMENT ON COLUMN stars.reserved IS 'held out of the fit: splitmix64 hash of star_id and [stars] reserve_seed below reserve_fraction';
COMMENT ON COLUMN stars.flag IS 'star flag bits: 16 reserved';
COMMENT ON COLUMN stars.run_id IS 'build-stars run that wrote the row';

COMMENT ON TABLE star_nobs IS 'one row per (calibration star, band) with observations: the long form of stars.nobs_{band}';
COMMENT ON COLUMN star_nobs.star_id IS 'star id (stars.star_id)';
COMMENT ON COLUMN star_nobs.band IS 'abstract band, e.g. g';
COMMENT ON COLUMN star_nobs.nobs IS 'observations of the star in the band [1]';
COMMENT ON COLUMN star_nobs.run_id IS 'build-stars run that wrote the row';

COMMENT ON TABLE star_obs IS 'one row per observation assigned to a calibration star (nearest star within [stars] match_radius_arcsec)';
COMMENT ON COLUMN star_obs.star_id IS 'star id (stars.star_id)';
COMMENT ON COLUMN star_obs.visit IS 'visit id (observations.visit)';
COMMENT ON COLUMN star_obs.detector IS 'detector id (observations.detector)';
COMMENT ON COLUMN star_obs.sourceId IS 'source id (observations.sourceId)';
COMMENT ON COLUMN star_obs.band IS 'abstract band of the observation';
COMMENT ON COLUMN star_obs.dist_arcsec IS 'distance from the star''s seed position [arcsec]';
COMMENT ON COLUMN star_obs.run_id IS 'build-stars run that wrote the row';

COMMENT ON TABLE star_ref IS 'one row per (calibration star, band) with a reference magnitude from the nearest reference object within [stars] reference_match_radius_arcsec';
COMMENT ON COLUMN star_ref.star_id IS 'star id (stars.star_id)';
COMMENT ON COLUMN star_ref.band IS 'observed band the magnitude is for, after the [stars.color_terms] of that band';
COMMENT ON COLUMN star_ref.ref_mag IS 'reference magnitude m_p + c0 + c1 (m_p - m_s) + c2 (m_p - m_s)^2, AB [mag]';
COMMENT ON COLUMN star_ref.ref_mag_err IS 'error of ref_mag, linear propagation of the reference errors [mag]';
COMMENT ON COLUMN star_ref.ref_id IS 'reference object id (refcat.ref_id)';
COMMENT ON COLUMN star_ref.dist_arcsec IS 'distance from the star to the reference object [arcsec]';
COMMENT ON COLUMN star_ref.run_id IS 'build-stars run that wrote the row';

COMMENT ON TABLE build_stats IS 'counts at each step of the last build-stars, one row per (step, band)';
COMMENT ON COLUMN build_stats.step_order IS 'position of the step in the build';
COMMENT ON COLUMN build_stats.step IS 'step name, e.g. isolation_removed';
COMMENT ON COLUMN build_stats.band IS 'band; NULL for counts over all bands';
COMMENT ON COLUMN build_stats.n IS 'count at that step [1]';
COMMENT ON COLUMN build_stats.run_id IS 'build-stars run that wrote the row';
