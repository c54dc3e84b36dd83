-- ingest_observations: appends to `observations` the selected sources of the ingested visits (rows of
-- `source_verdicts` with no rejection reason), one row per observation, computing (FGCMCAL_PIPELINE.md
-- 1.4): inst_mag = -2.5 log10(inst_flux / exptime) (mag per second; inst_flux is background-subtracted
-- when that is enabled), inst_mag_err = 2.5/ln(10) flux_err / flux, delta_mag_bkg =
-- -2.5 log10(inst_flux / flux), delta_mag_aper = -2.5 log10(F_12 / F_17) and its error (NULL when not
-- finite), and through the vectorised functions of fgcm_db.selection the HEALPix nest id (nside 16384)
-- and the source's own airmass at mid-exposure. Rows are stored in (visit, detector, sourceId) order,
-- so that every ingest of the same inputs gives the same table.
INSERT INTO observations (
    sourceId, visit, detector, band, physical_filter, ra, dec, x, y, healpix, inst_flux, inst_flux_err,
    inst_mag, inst_mag_err, delta_mag_aper, delta_mag_aper_err, delta_mag_bkg, airmass, psf_candidate
)
WITH kept AS (
    SELECT
        sourceId, visit, detector, band, physical_filter, ra, dec, x, y, flux, flux_err, inst_flux,
        flux_inner, flux_inner_err, flux_outer, flux_outer_err, psf_candidate, mjd, exptime,
        flux_inner > 0 AND flux_outer > 0 AND isfinite(flux_inner) AND isfinite(flux_outer) AS aper_ok
    FROM source_verdicts
    WHERE NOT (is_flagged OR is_extended OR is_low_sn OR is_high_sn OR is_blended OR is_sky
               OR is_bad_coord OR is_bad_background)
)
SELECT
    sourceId, visit, detector, band, physical_filter, ra, dec, x, y,
    fgcm_healpix_nest(ra, dec) AS healpix,
    inst_flux,
    flux_err AS inst_flux_err,
    -2.5 * log10(inst_flux / exptime) AS inst_mag,
    2.5 / ln(10.0) * flux_err / flux AS inst_mag_err,
    CASE WHEN aper_ok THEN -2.5 * log10(flux_inner / flux_outer) END AS delta_mag_aper,
    CASE WHEN aper_ok AND isfinite(flux_inner_err) AND isfinite(flux_outer_err)
         THEN 2.5 / ln(10.0) * sqrt((flux_inner_err / flux_inner) ^ 2 + (flux_outer_err / flux_outer) ^ 2)
    END AS delta_mag_aper_err,
    -2.5 * log10(inst_flux / flux) AS delta_mag_bkg,
    fgcm_source_airmass(mjd, ra, dec) AS airmass,
    psf_candidate
FROM kept
ORDER BY visit, detector, sourceId
