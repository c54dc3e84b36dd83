-- Reads the moment tables, one row per (filter, detector row), in storage order.
SELECT filter_idx, row_idx, moments FROM lut_values ORDER BY filter_idx, row_idx
