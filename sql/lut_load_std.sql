-- Reads the per-filter standard integrals, one row per physical filter, in LUT filter order.
SELECT filter_idx, physical_filter, band, std_physical_filter, lambda_std, lambda_std_filter, lambda_b,
       i0_std, i1_std, i10_std, i2_std, aerosol_lambda_nm
FROM lut_std ORDER BY filter_idx
