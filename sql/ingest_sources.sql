-- ingest_sources: appends one batch of source rows to `sources` (one row per input row, canonical
-- names), from `src_batch` (a parquet projection or an Arrow table, mapped by fgcm_db.columns),
-- `vs_visits` (visit -> band, physical_filter of the visit summary) and `filter_band`
-- (physical_filter -> band). band = the row's band, else the map's band for its physical_filter, else
-- (src FITS) the visit summary's. A row that breaks the contract stops the statement with an error
-- naming its file and row: a visit absent from the visit summary, an unknown band, a band that
-- disagrees with the visit summary, non-finite (unless allowed) or out-of-range coordinates.
-- (isfinite, not isnan: DuckDB folds isnan to false from parquet statistics, which ignore NaN.)
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
WITH with_band AS (
    SELECT
        s.sourceId, s.visit, s.detector, s.physical_filter, s.coord_ra, s.coord_dec, s.x, s.y,
        s.apFlux_12_0_instFlux, s.apFlux_12_0_instFluxErr, s.apFlux_12_0_flag,
        s.apFlux_17_0_instFlux, s.apFlux_17_0_instFluxErr, s.apFlux_17_0_flag,
        s.localBackground_instFlux, s.localBackground_flag, s.extendedness,
        s.pixelFlags_saturatedCenter, s.pixelFlags_interpolatedCenter, s.pixelFlags_edge, s.pixelFlags_cr,
        s.pixelFlags_bad, s.pixelFlags_crCenter, s.pixelFlags_interpolated, s.pixelFlags_saturated,
        s.centroid_flag, s.detect_isPrimary, s.sky_source, s.deblend_nChild, s.parentSourceId,
        s.calib_psf_candidate, s.psfFlux, s.psfFluxErr, s.psfFlux_flag, s.ixx, s.iyy, s.ixy,
        s.source_file, s.source_row,
        v.visit IS NOT NULL AS in_summary,
        v.band AS summary_band,
        coalesce(s.physical_filter, v.physical_filter) AS resolved_filter,
        coalesce(s.band, fb.band, CASE WHEN s.physical_filter IS NULL THEN v.band END) AS resolved_band
    FROM src_batch AS s
    LEFT JOIN vs_visits AS v ON s.visit = v.visit
    LEFT JOIN filter_band AS fb ON s.physical_filter = fb.physical_filter
)
SELECT
    CASE
        WHEN NOT in_summary THEN error(format(
            'fgcm-db-input: {}: row {}: visit {} is not in the visit summary {}; add it there or leave the file out',
            source_file, source_row, visit, $visits_file))
        WHEN resolved_band IS NULL THEN error(format(
            'fgcm-db-input: {}: row {}: unknown band for physical_filter {}; add it to [ingest] filter_to_band',
            source_file, source_row, coalesce(physical_filter, 'NULL')))
        WHEN resolved_band <> summary_band THEN error(format(
            'fgcm-db-input: {}: row {}: band {} disagrees with the visit summary (band {} for visit {})',
            source_file, source_row, resolved_band, summary_band, visit))
        WHEN NOT coalesce(isfinite(coord_ra) AND isfinite(coord_dec), false)
             AND NOT $allow_nan_coordinates THEN error(format(
            'fgcm-db-input: {}: row {}: coord_ra/coord_dec is NaN, infinite or null; fix the file or set [ingest] allow_nan_coordinates',
            source_file, source_row))
        WHEN NOT (coord_ra BETWEEN 0 AND 360) OR NOT (coord_dec BETWEEN -90 AND 90) THEN error(format(
            'fgcm-db-input: {}: row {}: coordinates ({}, {}) out of range: coord_ra must be in [0, 360] and coord_dec in [-90, 90] degrees',
            source_file, source_row, coord_ra, coord_dec))
        WHEN sourceId IS NULL THEN error(format(
            'fgcm-db-input: {}: row {}: sourceId is null', source_file, source_row))
        ELSE sourceId
    END AS sourceId,
    visit, detector, resolved_band, resolved_filter, coord_ra, coord_dec, x, y,
    apFlux_12_0_instFlux, apFlux_12_0_instFluxErr, apFlux_12_0_flag,
    apFlux_17_0_instFlux, apFlux_17_0_instFluxErr, apFlux_17_0_flag,
    localBackground_instFlux, localBackground_flag, extendedness,
    pixelFlags_saturatedCenter, pixelFlags_interpolatedCenter, pixelFlags_edge, pixelFlags_cr, pixelFlags_bad,
    pixelFlags_crCenter, pixelFlags_interpolated, pixelFlags_saturated, centroid_flag, detect_isPrimary,
    sky_source, deblend_nChild, parentSourceId, calib_psf_candidate,
    psfFlux, psfFluxErr, psfFlux_flag, ixx, iyy, ixy, source_file, source_row
FROM with_band
