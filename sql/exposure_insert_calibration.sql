-- exposure_insert_calibration: writes the one exposure_calibration row of an exposure (status, WCS,
-- astrometric and photometric statistics, provenance) from named parameters.
INSERT INTO exposure_calibration (
    exposure_id, run_id, status, status_detail, visit, detector, band, physical_filter,
    exposure_file, refcat_file, refcat_sha256, wcs_header, wcs_order, wcs_source,
    n_astrom_candidates, n_astrom_match, n_astrom_used, astrom_rms_arcsec, astrom_rms_ra_arcsec,
    astrom_rms_dec_arcsec, astrom_offset_mean_arcsec, astrom_offset_std_arcsec, astrom_hull_fraction,
    init_shift_x_pix, init_shift_y_pix, init_rotation_deg,
    zp_mag, zp_err, zp_err_total, zp_scatter, n_zp, n_zp_matched, n_zp_reserved, magzero, exptime,
    colorterm_primary, colorterm_secondary, colorterm_c0, colorterm_c1, colorterm_c2, calib_flux_def,
    psf_fwhm_arcsec, psf_fwhm_source, background_mean, background_rms, n_sources, n_sky_sources,
    software_version, config_hash, timings, warnings, created
)
VALUES (
    $exposure_id, $run_id, $status, $status_detail, $visit, $detector, $band, $physical_filter,
    $exposure_file, $refcat_file, $refcat_sha256, $wcs_header, $wcs_order, $wcs_source,
    $n_astrom_candidates, $n_astrom_match, $n_astrom_used, $astrom_rms_arcsec, $astrom_rms_ra_arcsec,
    $astrom_rms_dec_arcsec, $astrom_offset_mean_arcsec, $astrom_offset_std_arcsec, $astrom_hull_fraction,
    $init_shift_x_pix, $init_shift_y_pix, $init_rotation_deg,
    $zp_mag, $zp_err, $zp_err_total, $zp_scatter, $n_zp, $n_zp_matched, $n_zp_reserved, $magzero, $exptime,
    $colorterm_primary, $colorterm_secondary, $colorterm_c0, $colorterm_c1, $colorterm_c2, $calib_flux_def,
    $psf_fwhm_arcsec, $psf_fwhm_source, $background_mean, $background_rms, $n_sources, $n_sky_sources,
    $software_version, $config_hash, $timings, $warnings, now()
)
