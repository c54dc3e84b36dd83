-- ingest_progress_bar: session setting for ingest: no DuckDB progress bar on stdout (ingest reports
-- its own progress on stderr through fgcm_db.progress).
SET enable_progress_bar = false
