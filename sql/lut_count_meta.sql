-- Counts lut_meta rows (0 = no look-up table has been built yet).
SELECT count(*) AS n FROM lut_meta
