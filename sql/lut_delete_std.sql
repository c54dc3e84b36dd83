-- Empties lut_std before make-lut writes a new look-up table.
DELETE FROM lut_std
