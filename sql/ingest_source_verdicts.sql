-- ingest_source_verdicts: the temporary view `source_verdicts`: fgcmcal's science source selection
-- (FGCMCAL_PIPELINE.md 1.3) applied to the sources of the visits being ingested, one row per source,
-- from `sources`, `visit_rows` (mjd, exptime per visit) and the one-row `selection_params` (the
-- [ingest] config, fgcm_db.selection.selection_params). It carries what the observations need and one
-- boolean verdict per rejection reason; a row is kept when all are false. Comparisons are strict as in
-- fgcmcal; NaN never passes a cut (DuckDB orders NaN above every number, so each cut tests isfinite
-- first); a flag is rejected when its reject_<flag> parameter is true, an absent (NULL) flag is false.
CREATE OR REPLACE TEMP VIEW source_verdicts AS
WITH chosen AS (
    SELECT
        s.sourceId, s.visit, s.detector, s.band, s.physical_filter,
        s.coord_ra AS ra, s.coord_dec AS dec, s.x, s.y,
        CASE p.flux_field
            WHEN 'apFlux_12_0' THEN s.apFlux_12_0_instFlux
            WHEN 'apFlux_17_0' THEN s.apFlux_17_0_instFlux
            ELSE s.psfFlux
        END AS flux,
        CASE p.flux_field
            WHEN 'apFlux_12_0' THEN s.apFlux_12_0_instFluxErr
            WHEN 'apFlux_17_0' THEN s.apFlux_17_0_instFluxErr
            ELSE s.psfFluxErr
        END AS flux_err,
        s.apFlux_12_0_instFlux AS flux_inner, s.apFlux_12_0_instFluxErr AS flux_inner_err,
        s.apFlux_17_0_instFlux AS flux_outer, s.apFlux_17_0_instFluxErr AS flux_outer_err,
        s.localBackground_instFlux AS local_bkg,
        s.extendedness, s.parentSourceId, s.deblend_nChild, s.sky_source,
        s.calib_psf_candidate AS psf_candidate,
        v.mjd, v.exptime,
        p.max_extendedness, p.min_sn, p.max_sn, p.require_isolated, p.reject_sky, p.subtract_background,
        p.aperture_area,
        (p.reject_pixelFlags_edge AND coalesce(s.pixelFlags_edge, false))
        OR (p.reject_pixelFlags_interpolatedCenter AND coalesce(s.pixelFlags_interpolatedCenter, false))
        OR (p.reject_pixelFlags_saturatedCenter AND coalesce(s.pixelFlags_saturatedCenter, false))
        OR (p.reject_pixelFlags_crCenter AND coalesce(s.pixelFlags_crCenter, false))
        OR (p.reject_pixelFlags_bad AND coalesce(s.pixelFlags_bad, false))
        OR (p.reject_pixelFlags_interpolated AND coalesce(s.pixelFlags_interpolated, false))
        OR (p.reject_pixelFlags_saturated AND coalesce(s.pixelFlags_saturated, false))
        OR (p.reject_pixelFlags_cr AND coalesce(s.pixelFlags_cr, false))
        OR (p.reject_centroid_flag AND coalesce(s.centroid_flag, false))
        OR (p.reject_apFlux_12_0_flag AND coalesce(s.apFlux_12_0_flag, false))
        OR (p.reject_apFlux_17_0_flag AND coalesce(s.apFlux_17_0_flag, false))
        OR (p.reject_localBackground_flag AND coalesce(s.localBackground_flag, false))
        OR (p.reject_psfFlux_flag AND coalesce(s.psfFlux_flag, false)) AS any_flag
    FROM sources AS s
    JOIN visit_rows AS v ON s.visit = v.visit
    CROSS JOIN selection_params AS p
),
with_sn AS (
    SELECT
        sourceId, visit, detector, band, physical_filter, ra, dec, x, y, flux, flux_err,
        flux_inner, flux_inner_err, flux_outer, flux_outer_err, local_bkg, extendedness,
        parentSourceId, deblend_nChild, sky_source, psf_candidate, mjd, exptime, any_flag,
        max_extendedness, min_sn, max_sn, require_isolated, reject_sky, subtract_background,
        CASE WHEN flux_err > 0 AND isfinite(flux_err) AND isfinite(flux) THEN flux / flux_err END AS sn,
        CASE WHEN subtract_background THEN flux - aperture_area * local_bkg ELSE flux END AS inst_flux
    FROM chosen
)
SELECT
    sourceId, visit, detector, band, physical_filter, ra, dec, x, y, flux, flux_err, inst_flux,
    flux_inner, flux_inner_err, flux_outer, flux_outer_err, psf_candidate, mjd, exptime,
    any_flag AS is_flagged,
    NOT coalesce(isfinite(extendedness) AND extendedness < max_extendedness, false) AS is_extended,
    NOT coalesce(sn > min_sn, false) AS is_low_sn,
    coalesce(sn >= max_sn, false) AS is_high_sn,
    require_isolated AND (coalesce(parentSourceId, 0) <> 0 OR coalesce(deblend_nChild, 0) <> 0) AS is_blended,
    reject_sky AND coalesce(sky_source, false) AS is_sky,
    NOT coalesce(isfinite(ra) AND isfinite(dec), false) AS is_bad_coord,
    subtract_background AND NOT coalesce(isfinite(inst_flux) AND inst_flux > 0, false) AS is_bad_background
FROM with_sn
