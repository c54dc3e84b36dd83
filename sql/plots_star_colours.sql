-- plots_star_colours: standard magnitude of every calibration star in every band of run $run_id, final
-- cycle $cycle (one row per (star, band)), with its reference magnitude when it has one; from star_mags,
-- star_flags, star_ref and absolute_calibration.
SELECT
    m.star_id,
    m.band,
    m.mag_std + coalesce(a.offset_mag, 0.0) AS mag,
    r.ref_mag
FROM star_mags AS m
JOIN star_flags AS f
    ON f.run_id = m.run_id AND f.cycle = m.cycle AND f.star_id = m.star_id
LEFT JOIN star_ref AS r
    ON r.star_id = m.star_id AND r.band = m.band
LEFT JOIN absolute_calibration AS a
    ON a.run_id = m.run_id AND a.band = m.band
WHERE m.run_id = $run_id
  AND m.cycle = $cycle
  AND m.n_good > 0
  AND isfinite(m.mag_std)
  AND (f.flag & 3) = 0
