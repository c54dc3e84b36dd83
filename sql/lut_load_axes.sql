-- Reads the LUT grid axes, one row per (axis, node), in node order.
SELECT axis, idx, value FROM lut_axes ORDER BY axis, idx
