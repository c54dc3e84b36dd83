-- ingest_visit_detectors: appends to `visit_detectors` one row per (visit, detector) of the visit
-- summary (`vs_rows`, canonical names from fgcm_db.visit_summary).
INSERT INTO visit_detectors (visit, detector, band, physical_filter, psf_sigma, sky_bg, zenith_distance)
SELECT visit, detector, band, physical_filter, psfSigma, skyBg, zenithDistance
FROM vs_rows
