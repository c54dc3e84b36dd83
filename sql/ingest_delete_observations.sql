-- ingest_delete_observations: removes from `observations` every row of the visits being ingested (`vs_visits`), so that
-- ingesting a visit again replaces it (same transaction as the new rows).
DELETE FROM observations WHERE visit IN (SELECT visit FROM vs_visits)
