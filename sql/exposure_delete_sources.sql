-- exposure_delete_sources: removes from `sources` the rows an earlier calibrate-exposure of this
-- exposure wrote (found through exposure_sources), so that re-running replaces them.
DELETE FROM sources
WHERE sourceId IN (SELECT sourceId FROM exposure_sources WHERE exposure_id = $exposure_id)
