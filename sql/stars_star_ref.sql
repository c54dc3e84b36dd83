-- star_ref: reference magnitudes of the calibration stars: the nearest reference object within
-- $ref_chord2 (squared chord) of each star, then per observed band
--   ref_mag = m_p + c0 + c1 (m_p - m_s) + c2 (m_p - m_s)^2
-- with m_p, m_s the object's magnitudes in the colour term's primary and secondary reference bands
-- (an identity term p = s, c = 0 for bands without one), and the error propagated linearly:
--   ref_mag_err^2 = ((1 + c1 + 2 c2 (m_p - m_s)) err_p)^2 + ((c1 + 2 c2 (m_p - m_s)) err_s)^2.
-- From: stars_final, stars_final_neighbours, refcat, star_color_terms (registered).
-- Grain: one row per (star, band) with finite reference magnitudes and positive errors.
INSERT INTO star_ref (star_id, band, ref_mag, ref_mag_err, ref_id, dist_arcsec, run_id)
WITH ref_objects AS (
    SELECT DISTINCT ref_id, ra, dec, healpix
    FROM refcat
),
ref_vectors AS (
    SELECT
        ref_id,
        cos(radians(dec)) * cos(radians(ra)) AS cx,
        cos(radians(dec)) * sin(radians(ra)) AS cy,
        sin(radians(dec)) AS cz,
        healpix >> $star_shift AS spix
    FROM ref_objects
),
star_ref_pairs AS (
    SELECT
        s.star_id,
        r.ref_id,
        (s.cx - r.cx) * (s.cx - r.cx) + (s.cy - r.cy) * (s.cy - r.cy) + (s.cz - r.cz) * (s.cz - r.cz)
            AS chord2
    FROM stars_final AS s
    JOIN stars_final_neighbours AS n ON n.pixel = s.spix
    JOIN ref_vectors AS r ON r.spix = n.neighbour
),
nearest_ref AS (
    SELECT
        star_id, ref_id, chord2,
        row_number() OVER (PARTITION BY star_id ORDER BY chord2, ref_id) AS rank_by_distance
    FROM star_ref_pairs
    WHERE chord2 <= $ref_chord2
),
ref_colours AS (
    SELECT
        m.star_id, m.ref_id, m.chord2,
        t.band, t.c0, t.c1, t.c2,
        p.mag AS mag_p, p.mag_err AS err_p,
        s.mag AS mag_s, s.mag_err AS err_s,
        p.mag - s.mag AS colour
    FROM nearest_ref AS m
    CROSS JOIN star_color_terms AS t
    JOIN refcat AS p ON p.ref_id = m.ref_id AND p.band = t.primary_band
    JOIN refcat AS s ON s.ref_id = m.ref_id AND s.band = t.secondary_band
    WHERE m.rank_by_distance = 1
      AND isfinite(p.mag) AND isfinite(p.mag_err) AND p.mag_err > 0
      AND isfinite(s.mag) AND isfinite(s.mag_err) AND s.mag_err > 0
)
SELECT
    star_id,
    band,
    mag_p + c0 + c1 * colour + c2 * colour * colour AS ref_mag,
    sqrt(
        ((1.0 + c1 + 2.0 * c2 * colour) * err_p) * ((1.0 + c1 + 2.0 * c2 * colour) * err_p)
        + ((c1 + 2.0 * c2 * colour) * err_s) * ((c1 + 2.0 * c2 * colour) * err_s)
    ) AS ref_mag_err,
    ref_id,
    degrees(2.0 * asin(sqrt(chord2) / 2.0)) * 3600.0 AS dist_arcsec,
    $run_id AS run_id
FROM ref_colours
ORDER BY star_id, band;
