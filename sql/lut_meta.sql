-- Produces lut_meta (one row) from the registered frame lut_meta_new (one row, computed by make-lut).
INSERT INTO lut_meta (run_id, site, atmosphere_source, throughput_source, pressure_ref_hpa, std_pwv_mm, std_o3_du,
                      std_tau, std_alpha, std_airmass, std_pressure_hpa, lambda_norm_nm, wavelength_min_nm,
                      wavelength_max_nm, wavelength_step_nm, detectors, aerosol_nodes, node_values)
SELECT run_id, site, atmosphere_source, throughput_source, pressure_ref_hpa, std_pwv_mm, std_o3_du,
       std_tau, std_alpha, std_airmass, std_pressure_hpa, lambda_norm_nm, wavelength_min_nm,
       wavelength_max_nm, wavelength_step_nm, detectors, aerosol_nodes, node_values
FROM lut_meta_new
