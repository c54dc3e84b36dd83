-- Produces std_atmosphere (one row per wavelength) from the registered frame std_atmosphere_new.
INSERT INTO std_atmosphere (wavelength, transmission)
SELECT wavelength, transmission FROM std_atmosphere_new
