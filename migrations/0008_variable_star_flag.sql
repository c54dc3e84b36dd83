-- 0008_variable_star_flag: star flag bit 4, VARIABLE (fgcm_db/fit/variability.py), in the column
-- descriptions of the fit's star flags and of the standard stars.

COMMENT ON COLUMN star_flags.flag IS 'star flag bits, 0 = calibration star: 1 too few good observations, 2 colour outside the cuts, 4 variable (light curve not constant; from the cycle after the test), 16 reserved (held out of the fit)';
COMMENT ON COLUMN std_stars.flag IS 'star flag bits of the final cycle: 16 reserved; stars with 1 (too few observations), 2 (colour outside the cuts) or 4 (variable) are not in this table';
