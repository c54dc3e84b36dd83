-- exposure_insert_matches: appends the astrometric matches of one exposure to astrom_matches (one row
-- per source-reference match), from the registered Arrow table `exposure_matches_in`.
INSERT INTO astrom_matches (exposure_id, sourceId, ref_id, separation_arcsec, dra_arcsec, ddec_arcsec, used)
SELECT exposure_id, sourceId, ref_id, separation_arcsec, dra_arcsec, ddec_arcsec, used
FROM exposure_matches_in
