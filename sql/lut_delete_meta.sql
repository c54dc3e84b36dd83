-- Empties lut_meta before make-lut writes a new look-up table.
DELETE FROM lut_meta
