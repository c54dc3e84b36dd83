-- Empties lut_values before make-lut writes a new look-up table.
DELETE FROM lut_values
