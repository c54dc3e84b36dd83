-- Reads the standard atmosphere for load_lut: one row per wavelength, in wavelength order.
SELECT wavelength, transmission FROM std_atmosphere ORDER BY wavelength
