-- Reads the one lut_meta row (make-lut's look-up table description) for load_lut.
SELECT site, atmosphere_source, throughput_source, pressure_ref_hpa, std_pwv_mm, std_o3_du, std_tau, std_alpha,
       std_airmass, std_pressure_hpa, detectors, aerosol_nodes, node_values
FROM lut_meta
