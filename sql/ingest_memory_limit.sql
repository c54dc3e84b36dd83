-- ingest_memory_limit: session setting for ingest: DuckDB's memory limit ($memory_limit, e.g. '1GB');
-- larger intermediate results spill to the database's temporary directory.
SET memory_limit = $memory_limit
