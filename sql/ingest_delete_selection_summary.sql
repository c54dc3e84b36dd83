-- ingest_delete_selection_summary: removes from `selection_summary` every row of the visits being ingested (`vs_visits`), so that
-- ingesting a visit again replaces it (same transaction as the new rows).
DELETE FROM selection_summary WHERE visit IN (SELECT visit FROM vs_visits)
