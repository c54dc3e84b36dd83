-- products_reference_pairs: standard magnitude and reference magnitude of every calibration star (reserved
-- included) of cycle $cycle of run $run_id that has both with errors below $max_err, one row per
-- (star, band), from star_mags, star_flags (no too-few-observations or bad-colour bits) and star_ref.
SELECT
    m.band,
    m.mag_std,
    r.ref_mag
FROM star_mags AS m
JOIN star_flags AS f
    ON f.run_id = m.run_id AND f.cycle = m.cycle AND f.star_id = m.star_id
JOIN star_ref AS r
    ON r.star_id = m.star_id AND r.band = m.band
WHERE m.run_id = $run_id
  AND m.cycle = $cycle
  AND m.n_good > 0
  AND (f.flag & $star_bad_bits) = 0
  AND isfinite(m.mag_std)
  AND m.mag_std_err < $max_err
  AND r.ref_mag_err < $max_err
ORDER BY m.band, m.star_id
