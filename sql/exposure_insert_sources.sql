-- exposure_insert_sources: appends the measured sources of one exposure to `sources` (one row per
-- detection or sky source, sourceTable_visit layout), from the registered Arrow table
-- `exposure_sources_in` built by fgcm_db.exposure.calibrate.
INSERT INTO sources (
    sourceId, visit, detector, band, physical_filter, coord_ra, coord_dec, x, y,
    apFlux_12_0_instFlux, apFlux_12_0_instFluxErr, apFlux_12_0_flag,
    apFlux_17_0_instFlux, apFlux_17_0_instFluxErr, apFlux_17_0_flag,
    localBackground_instFlux, localBackground_flag, extendedness,
    pixelFlags_saturatedCenter, pixelFlags_interpolatedCenter, pixelFlags_edge, pixelFlags_cr, pixelFlags_bad,
    pixelFlags_crCenter, pixelFlags_interpolated, pixelFlags_saturated, centroid_flag, detect_isPrimary,
    sky_source, deblend_nChild, parentSourceId, calib_psf_candidate,
    psfFlux, psfFluxErr, psfFlux_flag, ixx, iyy, ixy, source_file, source_row
)
SELECT
    sourceId, visit, detector, band, physical_filter, coord_ra, coord_dec, x, y,
    apFlux_12_0_instFlux, apFlux_12_0_instFluxErr, apFlux_12_0_flag,
    apFlux_17_0_instFlux, apFlux_17_0_instFluxErr, apFlux_17_0_flag,
    localBackground_instFlux, localBackground_flag, extendedness,
    pixelFlags_saturatedCenter, pixelFlags_interpolatedCenter, pixelFlags_edge, pixelFlags_cr, pixelFlags_bad,
    pixelFlags_crCenter, pixelFlags_interpolated, pixelFlags_saturated, centroid_flag, detect_isPrimary,
    sky_source, deblend_nChild, parentSourceId, calib_psf_candidate,
    psfFlux, psfFluxErr, psfFlux_flag, ixx, iyy, ixy, source_file, source_row
FROM exposure_sources_in
