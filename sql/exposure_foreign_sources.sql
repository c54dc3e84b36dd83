-- exposure_foreign_sources: number of `sources` rows of one (visit, detector) that calibrate-exposure of
-- this exposure did not write (e.g. loaded by ingest, or written under another exposure_id); one row.
SELECT count(*) AS n_foreign
FROM sources
WHERE visit = $visit
  AND detector = $detector
  AND sourceId NOT IN (SELECT sourceId FROM exposure_sources WHERE exposure_id = $exposure_id)
