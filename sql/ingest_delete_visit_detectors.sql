-- ingest_delete_visit_detectors: removes from `visit_detectors` every row of the visits being ingested (`vs_visits`), so that
-- ingesting a visit again replaces it (same transaction as the new rows).
DELETE FROM visit_detectors WHERE visit IN (SELECT visit FROM vs_visits)
