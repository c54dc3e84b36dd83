-- Empties std_atmosphere before make-lut writes the new standard system.
DELETE FROM std_atmosphere
