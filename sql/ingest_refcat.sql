-- ingest_refcat: appends to `refcat` the reference catalog in long format, one row per (reference
-- star, band), from `refcat_rows` (computed by fgcm_db.ingest: nJy fluxes, AB magnitudes, healpix).
INSERT INTO refcat (ref_id, ra, dec, healpix, band, flux, flux_err, mag, mag_err)
SELECT ref_id, ra, dec, healpix, band, flux, flux_err, mag, mag_err
FROM refcat_rows
