-- Produces std_passband (one row per physical filter x wavelength) from the registered frame std_passband_new.
INSERT INTO std_passband (physical_filter, band, wavelength, throughput)
SELECT physical_filter, band, wavelength, throughput FROM std_passband_new
