-- ingest_delete_visits: removes from `visits` every row of the visits being ingested (`vs_visits`), so that
-- ingesting a visit again replaces it (same transaction as the new rows).
DELETE FROM visits WHERE visit IN (SELECT visit FROM vs_visits)
