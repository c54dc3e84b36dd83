-- plots_star_residuals: every observation of a calibration star on a photometric visit of run $run_id,
-- final cycle $cycle, calibrated with photo_calib (zero-point, chromatic correction from the star's SED
-- slope) minus the star's standard magnitude: one row per observation, with the star's magnitude,
-- reserved flag and the source's airmass; from star_obs, observations, photo_calib, star_mags, star_flags.
SELECT
    so.star_id,
    pc.band,
    f.reserved,
    m.mag_std + pc.abs_offset AS mag,
    pc.zp_mag - 2.5 * log10(o.inst_flux)
        + 2.5 * log10((1.0 + coalesce(m.sed_slope, 0.0) * pc.i10) / (1.0 + coalesce(m.sed_slope, 0.0) * pc.i10_std))
        - (m.mag_std + pc.abs_offset) AS residual,
    o.inst_mag_err AS mag_err,
    o.airmass
FROM star_obs AS so
JOIN observations AS o
    ON o.sourceId = so.sourceId AND o.visit = so.visit
JOIN photo_calib AS pc
    ON pc.run_id = $run_id AND pc.visit = o.visit AND pc.detector = o.detector
JOIN star_mags AS m
    ON m.run_id = $run_id AND m.cycle = $cycle AND m.star_id = so.star_id AND m.band = pc.band
JOIN star_flags AS f
    ON f.run_id = m.run_id AND f.cycle = m.cycle AND f.star_id = m.star_id
WHERE pc.photometric
  AND m.n_good > 0
  AND isfinite(m.mag_std)
  AND o.inst_flux > 0
  AND (f.flag & 3) = 0
