-- exposure_delete_matches: removes the astrom_matches rows of one exposure.
DELETE FROM astrom_matches WHERE exposure_id = $exposure_id
