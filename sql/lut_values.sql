-- Produces lut_values (one row per filter x detector row) from the registered frame lut_values_new.
INSERT INTO lut_values (filter_idx, row_idx, detector, moments)
SELECT filter_idx, row_idx, detector, moments FROM lut_values_new
