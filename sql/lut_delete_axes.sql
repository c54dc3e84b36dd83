-- Empties lut_axes before make-lut writes a new look-up table.
DELETE FROM lut_axes
