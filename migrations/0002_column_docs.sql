-- 0002_column_docs: descriptions and units of the tables of 0001_core, in the database catalog.
-- Convention for every migration: COMMENT ON TABLE t IS 'what one row is';
-- COMMENT ON COLUMN t.c IS 'meaning [unit]' with the unit in one trailing pair of brackets ([1] for
-- dimensionless numbers; no brackets for ids, flags and text). `fgcm-db export` copies them into the
-- parquet metadata; users see them with
-- SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'observations'.

COMMENT ON TABLE schema_migrations IS 'one row per schema migration applied to this database';
COMMENT ON COLUMN schema_migrations.version IS 'migration number (the NNNN of migrations/NNNN_name.sql)';
COMMENT ON COLUMN schema_migrations.name IS 'migration name';
COMMENT ON COLUMN schema_migrations.applied_at IS 'when the migration was applied (local time of the machine)';
COMMENT ON COLUMN schema_migrations.checksum IS 'SHA-256 of the migration file as applied';

COMMENT ON TABLE runs IS 'one row per fgcm-db command that wrote to the database (provenance)';
COMMENT ON COLUMN runs.run_id IS 'run id; output tables carry it';
COMMENT ON COLUMN runs.command IS 'fgcm-db command name, e.g. ingest';
COMMENT ON COLUMN runs.config IS 'the full configuration the command ran with (JSON)';
COMMENT ON COLUMN runs.version IS 'fgcm-db version that ran the command';
COMMENT ON COLUMN runs.started IS 'start time (local time of the machine)';
COMMENT ON COLUMN runs.finished IS 'end time; NULL while running or when the process died';
COMMENT ON COLUMN runs.status IS 'running, ok, failed or interrupted';
COMMENT ON COLUMN runs.error IS 'error message of a failed or interrupted run';

COMMENT ON TABLE metadata IS 'key/value facts about the database, e.g. the observatory site used at ingest';
COMMENT ON COLUMN metadata.key IS 'name of the fact';
COMMENT ON COLUMN metadata.value IS 'its value (JSON)';
COMMENT ON COLUMN metadata.updated IS 'when it was last written';

COMMENT ON TABLE detectors IS 'camera geometry: one row per detector';
COMMENT ON COLUMN detectors.detector IS 'detector (CCD) id';
COMMENT ON COLUMN detectors.x_size IS 'detector width [pixel]';
COMMENT ON COLUMN detectors.y_size IS 'detector height [pixel]';
COMMENT ON COLUMN detectors.fp_x IS 'focal-plane x of the detector centre [mm]';
COMMENT ON COLUMN detectors.fp_y IS 'focal-plane y of the detector centre [mm]';
COMMENT ON COLUMN detectors.pixel_scale IS 'pixel scale on the sky [arcsec/pixel]';
COMMENT ON COLUMN detectors.rotation IS 'angle of the detector x axis from the focal-plane x axis [deg]';
COMMENT ON COLUMN detectors.is_science IS 'true for science detectors (false: focus, guide or wavefront sensors)';
COMMENT ON COLUMN detectors.pixel_size_mm IS 'physical pixel size in the focal plane [mm/pixel]';

COMMENT ON TABLE visits IS 'one row per visit (exposure), from the visit summary';
COMMENT ON COLUMN visits.visit IS 'visit (exposure) id';
COMMENT ON COLUMN visits.band IS 'abstract band, e.g. g';
COMMENT ON COLUMN visits.physical_filter IS 'physical filter, e.g. HSC-G';
COMMENT ON COLUMN visits.mjd IS 'mid-exposure time, modified Julian date (TAI) [MJD]';
COMMENT ON COLUMN visits.exptime IS 'exposure time [s]';
COMMENT ON COLUMN visits.night IS 'observing night id: floor(mjd + the site''s UT boundary offset)';
COMMENT ON COLUMN visits.hour_angle IS 'boresight hour angle LST - RA, in (-180, 180] [deg]';
COMMENT ON COLUMN visits.boresight_ra IS 'boresight right ascension (ICRS) [deg]';
COMMENT ON COLUMN visits.boresight_dec IS 'boresight declination (ICRS) [deg]';
COMMENT ON COLUMN visits.boresight_rot IS 'boresight rotation angle [deg]';
COMMENT ON COLUMN visits.zenith_distance IS 'zenith distance at the boresight [deg]';
COMMENT ON COLUMN visits.airmass IS 'secant of the zenith distance at the boresight [1]';
COMMENT ON COLUMN visits.pressure IS 'barometric pressure at the telescope; NULL when unknown [hPa]';
COMMENT ON COLUMN visits.psf_sigma IS 'PSF Gaussian sigma, median over detectors [pixel]';
COMMENT ON COLUMN visits.sky_bg IS 'sky background, median over detectors [count/pixel]';
COMMENT ON COLUMN visits.delta_aper IS 'median delta-aperture -2.5 log10(F_12/F_17) of the selected sources [mag]';
COMMENT ON COLUMN visits.n_detectors IS 'detectors of the visit in the visit summary';
COMMENT ON COLUMN visits.source_file IS 'the visit summary file this row came from';
COMMENT ON COLUMN visits.run_id IS 'the ingest run that wrote this visit (runs.run_id)';

COMMENT ON TABLE visit_detectors IS 'one row per (visit, detector) of the visit summary';
COMMENT ON COLUMN visit_detectors.visit IS 'visit id';
COMMENT ON COLUMN visit_detectors.detector IS 'detector id';
COMMENT ON COLUMN visit_detectors.band IS 'abstract band';
COMMENT ON COLUMN visit_detectors.physical_filter IS 'physical filter';
COMMENT ON COLUMN visit_detectors.psf_sigma IS 'PSF Gaussian sigma on this detector [pixel]';
COMMENT ON COLUMN visit_detectors.sky_bg IS 'sky background on this detector [count/pixel]';
COMMENT ON COLUMN visit_detectors.zenith_distance IS 'zenith distance [deg]';

COMMENT ON TABLE sources IS 'every ingested source row (sourceTable_visit layout, canonical column names)';
COMMENT ON COLUMN sources.sourceId IS 'source id, unique over the database';
COMMENT ON COLUMN sources.visit IS 'visit id';
COMMENT ON COLUMN sources.detector IS 'detector id';
COMMENT ON COLUMN sources.band IS 'abstract band';
COMMENT ON COLUMN sources.physical_filter IS 'physical filter';
COMMENT ON COLUMN sources.coord_ra IS 'right ascension (ICRS) [deg]';
COMMENT ON COLUMN sources.coord_dec IS 'declination (ICRS) [deg]';
COMMENT ON COLUMN sources.x IS 'x centroid on the detector, 0-based [pixel]';
COMMENT ON COLUMN sources.y IS 'y centroid on the detector, 0-based [pixel]';
COMMENT ON COLUMN sources.apFlux_12_0_instFlux IS 'flux in a 12-pixel-radius aperture, whole exposure [count]';
COMMENT ON COLUMN sources.apFlux_12_0_instFluxErr IS 'error of apFlux_12_0_instFlux [count]';
COMMENT ON COLUMN sources.apFlux_12_0_flag IS 'the 12-pixel aperture measurement failed';
COMMENT ON COLUMN sources.apFlux_17_0_instFlux IS 'flux in a 17-pixel-radius aperture, whole exposure [count]';
COMMENT ON COLUMN sources.apFlux_17_0_instFluxErr IS 'error of apFlux_17_0_instFlux [count]';
COMMENT ON COLUMN sources.apFlux_17_0_flag IS 'the 17-pixel aperture measurement failed';
COMMENT ON COLUMN sources.localBackground_instFlux IS 'local background level around the source [count/pixel]';
COMMENT ON COLUMN sources.localBackground_flag IS 'the local background measurement failed';
COMMENT ON COLUMN sources.extendedness IS 'extendedness: 0 point-like, 1 extended [1]';
COMMENT ON COLUMN sources.pixelFlags_saturatedCenter IS 'saturated pixel in the source centre';
COMMENT ON COLUMN sources.pixelFlags_interpolatedCenter IS 'interpolated pixel in the source centre';
COMMENT ON COLUMN sources.pixelFlags_edge IS 'source on or near the detector edge';
COMMENT ON COLUMN sources.pixelFlags_cr IS 'cosmic ray in the source footprint';
COMMENT ON COLUMN sources.pixelFlags_bad IS 'bad pixel in the source footprint';
COMMENT ON COLUMN sources.pixelFlags_crCenter IS 'cosmic ray in the source centre';
COMMENT ON COLUMN sources.pixelFlags_interpolated IS 'interpolated pixel in the source footprint';
COMMENT ON COLUMN sources.pixelFlags_saturated IS 'saturated pixel in the source footprint';
COMMENT ON COLUMN sources.centroid_flag IS 'the centroid measurement failed';
COMMENT ON COLUMN sources.detect_isPrimary IS 'primary detection (not a deblended parent, not in an overlap)';
COMMENT ON COLUMN sources.sky_source IS 'blank-sky measurement, never a star';
COMMENT ON COLUMN sources.deblend_nChild IS 'number of deblended children (> 0 for a blended parent)';
COMMENT ON COLUMN sources.parentSourceId IS 'sourceId of the deblended parent, 0 for none';
COMMENT ON COLUMN sources.calib_psf_candidate IS 'candidate star for PSF determination';
COMMENT ON COLUMN sources.psfFlux IS 'PSF flux, whole exposure [count]';
COMMENT ON COLUMN sources.psfFluxErr IS 'error of psfFlux [count]';
COMMENT ON COLUMN sources.psfFlux_flag IS 'the PSF flux measurement failed';
COMMENT ON COLUMN sources.ixx IS 'second moment xx [pixel^2]';
COMMENT ON COLUMN sources.iyy IS 'second moment yy [pixel^2]';
COMMENT ON COLUMN sources.ixy IS 'second moment xy [pixel^2]';
COMMENT ON COLUMN sources.source_file IS 'the source table file this row came from';
COMMENT ON COLUMN sources.source_row IS '0-based row of this source in source_file';

COMMENT ON TABLE observations IS 'one row per selected source (observation usable for calibration)';
COMMENT ON COLUMN observations.sourceId IS 'source id (sources.sourceId)';
COMMENT ON COLUMN observations.visit IS 'visit id';
COMMENT ON COLUMN observations.detector IS 'detector id';
COMMENT ON COLUMN observations.band IS 'abstract band';
COMMENT ON COLUMN observations.physical_filter IS 'physical filter';
COMMENT ON COLUMN observations.ra IS 'right ascension (ICRS) [deg]';
COMMENT ON COLUMN observations.dec IS 'declination (ICRS) [deg]';
COMMENT ON COLUMN observations.x IS 'x centroid on the detector, 0-based [pixel]';
COMMENT ON COLUMN observations.y IS 'y centroid on the detector, 0-based [pixel]';
COMMENT ON COLUMN observations.healpix IS 'HEALPix nest pixel id at nside 16384 (order 14, 12.9 arcsec pixels)';
COMMENT ON COLUMN observations.inst_flux IS 'flux in the calibration aperture, local background subtracted when enabled, whole exposure [count]';
COMMENT ON COLUMN observations.inst_flux_err IS 'error of inst_flux [count]';
COMMENT ON COLUMN observations.inst_mag IS 'instrumental magnitude per second of exposure -2.5 log10(inst_flux / exptime), includes delta_mag_bkg [mag]';
COMMENT ON COLUMN observations.inst_mag_err IS 'error of inst_mag [mag]';
COMMENT ON COLUMN observations.delta_mag_aper IS 'delta-aperture -2.5 log10(F_12 / F_17); NULL when not finite [mag]';
COMMENT ON COLUMN observations.delta_mag_aper_err IS 'error of delta_mag_aper [mag]';
COMMENT ON COLUMN observations.delta_mag_bkg IS 'magnitude change from the local-background subtraction, 0 when off [mag]';
COMMENT ON COLUMN observations.airmass IS 'secant of the zenith distance of this source at mid-exposure [1]';
COMMENT ON COLUMN observations.psf_candidate IS 'candidate star for PSF determination (sources.calib_psf_candidate)';

COMMENT ON TABLE refcat IS 'reference catalog, long format: one row per (reference star, band)';
COMMENT ON COLUMN refcat.ref_id IS 'reference star id';
COMMENT ON COLUMN refcat.ra IS 'right ascension (ICRS) [deg]';
COMMENT ON COLUMN refcat.dec IS 'declination (ICRS) [deg]';
COMMENT ON COLUMN refcat.healpix IS 'HEALPix nest pixel id at nside 16384';
COMMENT ON COLUMN refcat.band IS 'band of the reference flux';
COMMENT ON COLUMN refcat.flux IS 'reference flux [nJy]';
COMMENT ON COLUMN refcat.flux_err IS 'error of flux [nJy]';
COMMENT ON COLUMN refcat.mag IS 'AB magnitude from flux [mag]';
COMMENT ON COLUMN refcat.mag_err IS 'error of mag [mag]';

COMMENT ON TABLE selection_summary IS 'source selection per visit: rows in, rejected per reason (a row counts in each reason that rejects it), kept';
COMMENT ON COLUMN selection_summary.visit IS 'visit id';
COMMENT ON COLUMN selection_summary.n_in IS 'source rows ingested for the visit';
COMMENT ON COLUMN selection_summary.n_flagged IS 'rows with a pixel or measurement flag set';
COMMENT ON COLUMN selection_summary.n_extended IS 'rows with extendedness at or above the cut';
COMMENT ON COLUMN selection_summary.n_low_sn IS 'rows with S/N at or below the minimum, or not finite';
COMMENT ON COLUMN selection_summary.n_high_sn IS 'rows with S/N at or above the maximum';
COMMENT ON COLUMN selection_summary.n_blended IS 'deblended children (parent != 0) and blended parents (deblend_nChild > 0)';
COMMENT ON COLUMN selection_summary.n_sky IS 'sky sources';
COMMENT ON COLUMN selection_summary.n_bad_coord IS 'rows with non-finite coordinates';
COMMENT ON COLUMN selection_summary.n_bad_background IS 'rows with flux <= 0 after local-background subtraction';
COMMENT ON COLUMN selection_summary.n_kept IS 'rows passing every cut (rows in observations)';
COMMENT ON COLUMN selection_summary.run_id IS 'the ingest run that wrote this row (runs.run_id)';
