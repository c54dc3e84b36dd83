-- Produces lut_axes (one row per axis node) from the registered frame lut_axes_new.
INSERT INTO lut_axes (axis, idx, value)
SELECT axis, idx, value FROM lut_axes_new
