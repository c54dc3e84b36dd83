-- exposure_insert_source_extras: appends the per-source calibration extras of one exposure to
-- exposure_sources (one row per source written to `sources`), from the registered Arrow table
-- `exposure_extras_in`.
INSERT INTO exposure_sources (
    exposure_id, sourceId, flags, snr, calib_astrometry_used, calib_photometry_used,
    calib_photometry_reserved, calib_detected, calib_psf_used, calib_psf_reserved, mag, mag_err,
    a, b, theta, npix, peak, half_light_radius
)
SELECT
    exposure_id, sourceId, flags, snr, calib_astrometry_used, calib_photometry_used,
    calib_photometry_reserved, calib_detected, calib_psf_used, calib_psf_reserved, mag, mag_err,
    a, b, theta, npix, peak, half_light_radius
FROM exposure_extras_in
