-- Produces lut_std (one row per physical filter) from the registered frame lut_std_new.
INSERT INTO lut_std (filter_idx, physical_filter, band, std_physical_filter, lambda_std, lambda_std_filter, lambda_b,
                     i0_std, i1_std, i10_std, i2_std, aerosol_lambda_nm)
SELECT filter_idx, physical_filter, band, std_physical_filter, lambda_std, lambda_std_filter, lambda_b,
       i0_std, i1_std, i10_std, i2_std, aerosol_lambda_nm
FROM lut_std_new
