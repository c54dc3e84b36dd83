-- exposure_delete_source_extras: removes the exposure_sources rows of one exposure (run after
-- exposure_delete_sources, which needs them).
DELETE FROM exposure_sources WHERE exposure_id = $exposure_id
