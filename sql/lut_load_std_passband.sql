-- Reads the standard passbands for load_lut: one row per (physical filter, wavelength), wavelength-ordered.
SELECT physical_filter, wavelength, throughput FROM std_passband ORDER BY physical_filter, wavelength
