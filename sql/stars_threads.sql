-- Session setting for build-stars: DuckDB worker threads ($threads).
SET threads = $threads;
