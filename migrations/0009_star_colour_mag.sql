-- 0009_star_colour_mag: the magnitudes a cycle hands to the next one for its SED slopes and colour
-- cuts (fgcm_db/fit/engine.py, _colour_mags): the photometric mean, or for a (star, band) without one,
-- the mean over every observation whose visit has a zero-point, its detector's gray applied.

ALTER TABLE star_mags ADD COLUMN mag_colour DOUBLE;
COMMENT ON COLUMN star_mags.mag_colour IS 'magnitude used for the next cycle''s SED slopes and colour cuts: mag_std_raw where the star has good observations on photometric visits, else the mean over all its observations on visits with a zero-point, detector gray applied (NULL: none) [mag]';
